import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { DOMAIN_NAMES, domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import { configHash } from '../../../operators/common/hash.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId } from '../../../operators/linearize/linearizeConfig.js';
import { verifierId } from '../../../operators/verify/verifier.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { mergeManifestFiles } from '../../stages/sinkManifest.js';
import { rebuildManifest } from '../../sinks/rebuildManifest.js';
import { ParquetEncoder } from '../../sinks/parquetEncoder.js';
import { assertPolicyServes, createPolicy, policyDomainMismatch } from '../../policies/factory.js';
import { followServedVersions } from '../../policies/followVersions.js';
import { servedPolicyEnv } from '../../llm/llmSetup.js';
import { STAGE_NAMES, startTopology, type StageName } from '../../stages/topology.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { intFlag, mergeConfig, parseBrokers, parseKMix, parseRunConfig, readConfigFile } from '../runConfig.js';
import { topologyConfigOf } from '../topologyConfig.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from '../util.js';
import { countDomainVerdicts } from '../../metrics/countVerdicts.js';
import type { PipelineExporter } from '../../metrics/metricsEndpoint.js';
import { addMetricsOptions, metricsEndpointFromFlags, type MetricsFlags } from '../../metrics/metricsFlags.js';
import { timedPolicy } from '../../metrics/timedPolicy.js';

interface StageFlags {
  readonly brokers: string;
  readonly group?: string;
  readonly out?: string;
  readonly seed?: number;
  readonly iterations?: number;
  readonly k?: number;
  readonly rollouts?: number;
  readonly kMix?: string;
  readonly concurrency?: number;
  readonly partitions?: number;
  readonly config?: string;
  readonly policy?: string;
  readonly domain?: string;
  readonly baseUrl?: string;
  readonly model?: string;
  readonly statusEvery?: number;
  readonly serveGguf?: string;
  readonly followPolicies?: string;
  readonly policyName?: string;
}

/**
 * `astro-stream stage <name> --brokers B`: one stage of the topology as its own process, a member
 * of the stage's consumer group. Start more processes to scale out. Runs until SIGTERM/SIGINT,
 * then stops fetching, finishes (or abandons, uncommitted) in-flight work, flushes sinks, commits
 * and leaves the group.
 */
export function createStageCommand(): Command {
  return addMetricsOptions(new Command('stage'))
    .description('Run one stage of the topology as a Kafka consumer-group member (until SIGTERM/SIGINT)')
    .argument('<name>', `stage: ${STAGE_NAMES.join(' | ')}`)
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port,...')
    .option('--group <id>', 'consumer group id (default: the stage\'s standard group; a stage with two sinks uses it as a prefix)')
    .option('--out <dir>', 'sink: dataset directory (traces/, trees/, manifest.json)')
    .option('--seed <s>', 'search and linearizer seed (default 7, as run)', intFlag('--seed'))
    .option('--iterations <n>', 'search: MCTS iterations (default 32)', intFlag('--iterations'))
    .option('--k <n>', 'search: candidate steps per expansion (default 8)', intFlag('--k'))
    .option('--rollouts <n>', 'search: rollouts per new child (default 16)', intFlag('--rollouts'))
    .option('--k-mix <list>', 'linearize: traces per tree by k (default 0,1,1,2)')
    .option('--concurrency <n>', 'search: trees at once (default 2)', intFlag('--concurrency'))
    .option('--partitions <n>', 'partitions when creating missing topics (default 4)', intFlag('--partitions'))
    .option('--policy <kind>', 'search: onnx (built-in Countdown network), openai or dry-run (default onnx)')
    .option('--domain <name>', `search: domain of the problems it expects, ${DOMAIN_NAMES.join(' or ')}; the policy must serve it (default countdown)`)
    .option('--base-url <url>', 'search, openai: server base URL including /v1')
    .option('--model <id>', 'search: openai model id, or onnx model file')
    .option('--serve-gguf <file>', 'search: serve this GGUF on a llama-server this process starts (the openai policy), instead of --base-url')
    .option('--follow-policies <dir|topic>', 'search, with --serve-gguf: switch to each newer GGUF version in DIR/versions.jsonl, or on astro.policy.v1 (topic)')
    .option('--policy-name <name>', 'search, with --serve-gguf: policy family recorded and followed (default astro-lm)')
    .option('--status-every <s>', 'log each stage\'s counts (received, done, in flight, paused, dead-lettered) every s seconds; 0 = never (default 30)', intFlag('--status-every'))
    .option('--config <file>', 'JSON config file, as for run (its "policy" block configures the search policy)')
    .action(async (name: string, flags: StageFlags & MetricsFlags) => {
      if (!(STAGE_NAMES as readonly string[]).includes(name)) throw new AppError('config', `unknown stage ${JSON.stringify(name)}; stages: ${STAGE_NAMES.join(', ')}`);
      if (name === 'sink' && flags.out === undefined) throw new AppError('config', 'stage sink needs --out DIR');
      const fileLayer = flags.config ? readConfigFile(flags.config) : {};
      const config = parseRunConfig(
        mergeConfig(fileLayer, {
          seed: flags.seed,
          out: flags.out,
          domain: flags.domain,
          concurrency: flags.concurrency,
          partitions: flags.partitions,
          brokers: parseBrokers(flags.brokers),
          search: { iterations: flags.iterations, k: flags.k, rollouts: flags.rollouts },
          linearize: { kMix: flags.kMix === undefined ? undefined : parseKMix(flags.kMix) },
          policy: { kind: flags.policy ?? (flags.serveGguf === undefined ? undefined : 'openai'), baseUrl: flags.baseUrl, model: flags.model, serve: flags.serveGguf, follow: flags.followPolicies, policyName: flags.policyName },
        }),
      );
      if (flags.statusEvery !== undefined && flags.statusEvery < 0) throw new AppError('config', '--status-every must be >= 0');
      // Before connecting: a policy that cannot serve the expected problems would only make root-only trees.
      if (name === 'search') assertPolicyServes(config.policy.kind, config.domain);
      {
        // Its own block: the endpoint (and its --metrics-linger) is done before the exit timer below.
        await using exporter = await metricsEndpointFromFlags(flags, `stage ${name}`, stderrLogger(`stage ${name}`));
        await runStageProcess(name as StageName, config, flags.group, (flags.statusEvery ?? 30) * 1000, exporter);
      }
      // Everything is flushed and committed; a library handle still open (a client timer) must not
      // keep the process alive after a clean stop. Unref'd, so it only fires if something lingers.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}

async function runStageProcess(name: StageName, config: ReturnType<typeof parseRunConfig>, group: string | undefined, statusEveryMs: number, exporter: PipelineExporter | undefined): Promise<void> {
  const logger = stderrLogger(`stage ${name}`);
  // Signals are handled from the first moment: a stop requested while still connecting waits for
  // the start to finish and then shuts down cleanly (exit 0) instead of dying mid-join.
  let signalled: string | undefined;
  let onSignal: ((signal: string) => void) | undefined;
  const handler = (signal: string) => () => {
    signalled ??= signal;
    onSignal?.(signal);
  };
  process.once('SIGTERM', handler('SIGTERM'));
  process.once('SIGINT', handler('SIGINT'));

  const metrics = new InMemoryMetrics(exporter?.metrics);
  const transport = createKafkaTransport({ brokers: config.brokers ?? [], clientId: `astro-stream-${name}`, logger });
  await transport.createTopics(allTopicSpecs({ partitions: config.partitions }));
  const producer = await transport.producer();
  const apiKey = process.env.OPENAI_API_KEY;
  const policy = name === 'search' ? timedPolicy(await createPolicy(config.policy, { domainOf, clock: Date.now, metrics, logger, served: servedPolicyEnv(topologyConfigOf(config).search, process.env), ...(apiKey ? { apiKey } : {}) }), metrics) : undefined;
  const watcher = policy === undefined ? undefined : await followServedVersions(config.policy, policy, { transport, groupId: `astro.policy-watch.stage-${Date.now()}-${process.pid}`, logger, metrics });
  const encoder = name === 'sink' ? ParquetEncoder.create({ workers: 1 }, { metrics }) : undefined;
  if (name === 'sink') {
    await mkdir(config.out, { recursive: true });
    // A sink killed earlier never merged its files into the manifest: list what is on disk first.
    const rebuilt = await rebuildManifest(config.out, { version: ASTRO_STREAM_VERSION });
    if (rebuilt.added.length > 0 || rebuilt.dropped.length > 0) logger.info(`manifest rebuilt from the files on disk: ${rebuilt.added.length} added, ${rebuilt.dropped.length} missing dropped`);
  }
  const topologyConfig = topologyConfigOf(config);
  const topology = await startTopology(
    topologyConfig,
    {
      transport,
      producer,
      policy: () => {
        if (policy === undefined) throw new TypeError('only the search stage loads a policy');
        return policy;
      },
      // Problems of another domain on a shared topic go to the DLQ one by one; the others go on.
      domainMismatch: (domain) => policyDomainMismatch(config.policy.kind, domain),
      domainOf: countDomainVerdicts(domainOf, metrics),
      ...(encoder === undefined ? {} : { encoder }),
      metrics,
      logger,
      clock: Date.now,
      ...(group === undefined ? {} : { groupId: group }),
    },
    [name],
  );
  exporter?.watch({ stages: () => topology.stages, transport, files: () => topology.files() });
  logger.info(`started; member of ${topology.stages.map((s) => s.name).join(', ')}`);
  // A long-running process says what it is doing, so a stalled or backed-up stage is visible.
  const status =
    statusEveryMs > 0
      ? setInterval(() => {
          for (const s of topology.stages) {
            const st = s.stats();
            // Verdicts that ran out of time are "not equal" labels nobody decided: worth seeing live.
            const timeouts = s.name === 'search' || s.name === 'verify' ? `, ${metrics.counter(`${s.name}.verdict_timeouts`)} verifier timeouts` : '';
            logger.info(`${s.name}: ${st.received} received, ${st.completed} done, ${st.inFlight} in flight${st.paused ? ' (fetching paused)' : ''}, ${st.deadLettered} dead-lettered${timeouts}`);
          }
        }, statusEveryMs)
      : undefined;
  status?.unref();

  const shutdown = async (signal: string): Promise<void> => {
    clearInterval(status);
    logger.info(`${signal}: stopping (finishing in-flight work, flushing, committing)`);
    await topology.stop();
    if (name === 'sink') {
      const domain = domainOf(config.domain);
      await mergeManifestFiles(config.out, topology.files(), {
        command: `astro-stream stage sink --brokers ${(config.brokers ?? []).join(',')}`,
        configs: { run: config, search: topologyConfig.search, linearize: topologyConfig.linearize },
        config_hashes: { search: configHash(topologyConfig.search), linearize: linearizeConfigHash(topologyConfig.linearize), verifier: domain.verifier.configHash },
        versions: { astro_stream: ASTRO_STREAM_VERSION, policy: 'see trees', verifier: verifierId(domain.verifier), linearizer: linearizerId },
        counts: metrics.snapshot().counters,
      });
    }
    await producer.close();
    await encoder?.close();
    await watcher?.stop();
    await policy?.close?.();
    await transport.close();
    logger.info('stopped');
  };
  const signal = await new Promise<string>((resolve, reject) => {
    if (signalled !== undefined) resolve(signalled);
    onSignal = resolve;
    topology.failed.catch(reject);
  });
  await shutdown(signal);
}

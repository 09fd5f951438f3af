import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { domainOf } from '../../../domains/registry.js';
import { configHash } from '../../../operators/common/hash.js';
import { InMemoryMetrics, type Logger } from '../../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId, parseLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { parseSearchConfig } from '../../../operators/mcts/searchConfig.js';
import { verifierId } from '../../../operators/verify/verifier.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../../schemas/problem.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { sourcesFromFiles, writeManifest, type DatasetManifest } from '../../sinks/manifest.js';
import { ParquetEncoder } from '../../sinks/parquetEncoder.js';
import { createOnnxCountdownPolicy } from '../../policies/onnxPolicy.js';
import { waitForDrain } from '../../stages/drain.js';
import { PIPELINE_EDGES, startTopology } from '../../stages/topology.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { createMemoryTransport } from '../../transport/memoryTransport.js';
import type { Transport } from '../../transport/transport.js';
import { startProgress } from '../progress.js';
import { intFlag, mergeConfig, parseBrokers, parseKMix, parseRunConfig, readConfigFile, type RunConfig } from '../runConfig.js';
import { formatSummary, summarize, type RunSummary } from '../summary.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from '../util.js';

interface RunFlags {
  readonly problems?: number;
  readonly seed?: number;
  readonly out?: string;
  readonly domain?: string;
  readonly numbers?: number;
  readonly iterations?: number;
  readonly k?: number;
  readonly rollouts?: number;
  readonly kMix?: string;
  readonly concurrency?: number;
  readonly partitions?: number;
  readonly config?: string;
  readonly brokers?: string;
  readonly ablation?: boolean;
  readonly json?: boolean;
}

/** Turns flags into a config layer (only the flags the user gave). */
function flagsToLayer(flags: RunFlags): Record<string, unknown> {
  return {
    problems: flags.problems,
    seed: flags.seed,
    out: flags.out,
    domain: flags.domain,
    numbers: flags.numbers,
    concurrency: flags.concurrency,
    partitions: flags.partitions,
    brokers: flags.brokers === undefined ? undefined : parseBrokers(flags.brokers),
    search: { iterations: flags.iterations, k: flags.k, rollouts: flags.rollouts },
    linearize: { kMix: flags.kMix === undefined ? undefined : parseKMix(flags.kMix), ablation: flags.ablation },
  };
}

/** Everything a run needs from outside: injected so tests can drive a run in-process. */
export interface RunDeps {
  readonly transport?: Transport;
  readonly logger?: Logger;
  readonly clock?: () => number;
  readonly progress?: NodeJS.WriteStream | null;
  readonly command?: string;
}

/**
 * Runs the whole topology (source → search → verify → linearize → sinks) in this process until
 * every problem has gone through, then writes the manifest and returns the summary.
 */
export async function runPipeline(config: RunConfig, deps: RunDeps = {}): Promise<RunSummary> {
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger ?? stderrLogger('run');
  const started = clock();
  const metrics = new InMemoryMetrics();
  const search = parseSearchConfig({ ...config.search, seed: config.search.seed ?? config.seed });
  const linearize = parseLinearizeConfig({ ...config.linearize, seed: config.linearize.seed ?? config.seed });
  const domain = domainOf(config.domain);
  if (domain.generate === undefined) throw new Error(`domain ${domain.name} has no generator`);
  const problems = domain.generate({ count: config.problems, seed: config.seed, difficulty: config.numbers });

  const transport = deps.transport ?? (config.brokers ? createKafkaTransport({ brokers: config.brokers, clientId: 'astro-stream-run' }) : createMemoryTransport({ clock }));
  const policy = await createOnnxCountdownPolicy({ maxBatch: config.policy.maxBatch, ...(config.policy.model ? { modelPath: config.policy.model } : {}) });
  const encoder = ParquetEncoder.create({ workers: 1 }, { metrics });
  await mkdir(config.out, { recursive: true });
  await transport.createTopics(allTopicSpecs({ partitions: config.partitions }));
  const producer = await transport.producer();
  const topology = await startTopology(
    { search, linearize, searchConcurrency: config.concurrency, verifyTimeoutMs: config.verifyTimeoutMs, out: config.out, sink: config.sink },
    { transport, producer, policy: () => policy, domainOf, encoder, metrics, logger, clock },
  );
  const progress =
    deps.progress === null
      ? undefined
      : startProgress({
          stream: deps.progress ?? process.stderr,
          clock,
          snapshot: () => ({
            label: 'search',
            done: metrics.counter('search.trees'),
            total: problems.length,
            details: [
              ['valid', metrics.counter('search.trees') - metrics.counter('verify.invalid_trees')],
              ['traces', metrics.counter('traces.written')],
            ],
          }),
        });
  try {
    await producer.send(
      PROBLEMS_TOPIC,
      problems.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })),
    );
    let fatal: unknown;
    topology.failed.catch((error: unknown) => {
      fatal = error;
    });
    await waitForDrain(transport, PIPELINE_EDGES, { abort: () => fatal });
    await topology.stop();
  } finally {
    progress?.stop();
    await producer.close();
    await encoder.close();
    await policy.close?.();
    if (deps.transport === undefined) await transport.close();
  }

  const files = topology.files();
  const wallMs = clock() - started;
  const summary = summarize({ problems: problems.length, metrics: metrics.snapshot(), wallMs, out: config.out });
  const manifest: DatasetManifest = {
    format: 'astro-dataset@1',
    created_at: clock(),
    command: deps.command ?? 'astro-stream run',
    configs: { run: config, search, linearize },
    config_hashes: { search: configHash(search), linearize: linearizeConfigHash(linearize), verifier: domain.verifier.configHash },
    versions: { astro_stream: ASTRO_STREAM_VERSION, policy: policy.version, verifier: verifierId(domain.verifier), linearizer: linearizerId },
    counts: { ...metrics.snapshot().counters, problems: problems.length },
    sources: sourcesFromFiles(files),
    files,
  };
  await writeManifest(config.out, manifest);
  return summary;
}

export function createRunCommand(): Command {
  return new Command('run')
    .description('Run the whole topology in one process (built-in Countdown domain and ONNX policy, in-process transport) and write a dataset')
    .option('--problems <n>', 'problems to generate (default 12)', intFlag('--problems'))
    .option('--seed <s>', 'seed of the generator, search and linearizer (default 7)', intFlag('--seed'))
    .option('--out <dir>', 'dataset directory: traces/, trees/, manifest.json (default out/run)')
    .option('--domain <name>', 'problem domain (default countdown)')
    .option('--numbers <n>', 'Countdown difficulty: how many numbers, 3-6 (default 4)', intFlag('--numbers'))
    .option('--iterations <n>', 'MCTS iterations per problem (default 32)', intFlag('--iterations'))
    .option('--k <n>', 'candidate steps per expansion (default 8)', intFlag('--k'))
    .option('--rollouts <n>', 'rollouts per new child, M (default 16)', intFlag('--rollouts'))
    .option('--k-mix <list>', 'traces per valid tree by k, comma-separated (default 0,1,1,2)')
    .option('--ablation', 'also emit the count-matched direct-only ablation arm')
    .option('--concurrency <n>', 'problems searched at once (default 2)', intFlag('--concurrency'))
    .option('--partitions <n>', 'partitions per topic (default 4)', intFlag('--partitions'))
    .option('--brokers <list>', 'run over Kafka at these bootstrap brokers (host:port,...) instead of in-process')
    .option('--config <file>', 'JSON config file (same keys as the README); flags override it')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: RunFlags) => {
      const fileLayer = flags.config ? readConfigFile(flags.config) : {};
      const config = parseRunConfig(mergeConfig(fileLayer, flagsToLayer(flags)));
      const summary = await runPipeline(config, { command: ['astro-stream', ...process.argv.slice(2)].join(' ') });
      process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
    });
}

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import { configHash } from '../../../operators/common/hash.js';
import { InMemoryMetrics, type Logger } from '../../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId } from '../../../operators/linearize/linearizeConfig.js';
import { verifierId } from '../../../operators/verify/verifier.js';
import { DeadLetterCodec, DLQ_SUFFIX, type DeadLetter } from '../../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC, ProblemCodec, type Problem } from '../../../schemas/problem.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { sourcesFromFiles, writeManifest, type DatasetManifest } from '../../sinks/manifest.js';
import { ParquetEncoder } from '../../sinks/parquetEncoder.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { createPolicy } from '../../policies/factory.js';
import { createLlmJudge, createLlmRewriter, PROMPT_FAMILY_NAMES, type OpenAiPolicy } from '../../policies/openai/index.js';
import type { LinearizeExtras } from '../../stages/linearizeStage.js';
import { isProblemPreset, PROBLEM_PRESETS, type ProblemFieldMapping } from '../../sources/problemMapping.js';
import { readJsonlProblems } from '../../sources/readJsonlProblems.js';
import { readParquetProblems } from '../../sources/readParquetProblems.js';
import { waitForDrain } from '../../stages/drain.js';
import { PIPELINE_EDGES, startTopology } from '../../stages/topology.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { createMemoryTransport } from '../../transport/memoryTransport.js';
import type { Producer, Transport } from '../../transport/transport.js';
import { startProgress } from '../progress.js';
import { intFlag, numberFlag, parseRewrite, mergeConfig, parseBrokers, parseKMix, parseRunConfig, readConfigFile, type RunConfig } from '../runConfig.js';
import { topologyConfigOf } from '../topologyConfig.js';
import { formatTrainingSummary, runTraining } from '../../trainer/runWithTraining.js';
import { parseTrainConfig, type TrainConfig } from '../../trainer/trainConfig.js';
import { formatSummary, summarize, type RunSummary } from '../summary.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from '../util.js';

interface RunFlags {
  readonly train?: boolean;
  readonly minutes?: number;
  readonly rlGroups?: number;
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
  readonly policy?: string;
  readonly baseUrl?: string;
  readonly model?: string;
  readonly source?: string;
  readonly file?: string;
  readonly preset?: string;
  readonly maxInflight?: number;
  readonly parallelIterations?: number;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly backoffMs?: number;
  readonly mistakeRate?: number;
  readonly selfEval?: number;
  readonly rewrite?: string;
  readonly endpoint?: string;
  readonly family?: string;
  readonly outageMs?: number;
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
    parallelIterations: flags.parallelIterations,
    source: flags.source ?? (flags.file === undefined ? undefined : flags.file.endsWith('.parquet') ? 'parquet' : 'jsonl'),
    file: flags.file,
    preset: flags.preset,
    partitions: flags.partitions,
    policy: {
      kind: flags.policy,
      baseUrl: flags.baseUrl,
      model: flags.model,
      maxInFlight: flags.maxInflight,
      timeoutMs: flags.timeoutMs,
      attempts: flags.attempts,
      backoffMs: flags.backoffMs,
      mistakeRate: flags.mistakeRate,
      endpoint: flags.endpoint,
      family: flags.family,
      outageMs: flags.outageMs,
    },
    brokers: flags.brokers === undefined ? undefined : parseBrokers(flags.brokers),
    search: { iterations: flags.iterations, k: flags.k, rollouts: flags.rollouts },
    selfEval: flags.selfEval === undefined ? undefined : { judgments: flags.selfEval },
    rewrite: flags.rewrite === undefined ? undefined : parseRewrite(flags.rewrite),
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
  /** OpenAI API key for `--policy openai` (the CLI passes `OPENAI_API_KEY`). */
  readonly apiKey?: string;
}

/** Field mapping for a problem file: `--preset`, else the preset whose name starts the file name (math500.jsonl → math500). */
export function mappingFor(file: string, preset: string | undefined): ProblemFieldMapping {
  if (preset !== undefined) {
    if (!isProblemPreset(preset)) throw new AppError('config', `unknown --preset ${JSON.stringify(preset)}; known: ${Object.keys(PROBLEM_PRESETS).join(', ')}`);
    return PROBLEM_PRESETS[preset];
  }
  const name = basename(file).toLowerCase();
  const found = Object.entries(PROBLEM_PRESETS).find(([key, m]) => name.startsWith(key) || name.startsWith(m.source));
  if (found === undefined) throw new AppError('config', `cannot tell the fields of ${file}; pass --preset (${Object.keys(PROBLEM_PRESETS).join(', ')})`);
  return found[1];
}

/** The run's problems: generated, or the first `config.problems` good rows of the file (bad rows are logged and counted). */
export async function loadProblems(config: RunConfig, logger: Logger): Promise<{ problems: Problem[]; rejected: number }> {
  if (config.source === 'countdown') {
    const domain = domainOf(config.domain);
    if (domain.generate === undefined) throw new AppError('config', `domain ${domain.name} has no generator`);
    return { problems: domain.generate({ count: config.problems, seed: config.seed, difficulty: config.numbers }), rejected: 0 };
  }
  if (config.file === undefined) throw new AppError('config', `--source ${config.source} needs --file`);
  const mapping = mappingFor(config.file, config.preset);
  const read = config.source === 'jsonl' ? readJsonlProblems(config.file, mapping) : readParquetProblems(config.file, mapping);
  const problems: Problem[] = [];
  let rejected = 0;
  try {
    for await (const row of read) {
      if (row.ok) problems.push(row.value);
      else {
        rejected += 1;
        logger.warn(`skipping a bad row of ${config.file}`, { reason: row.error.message });
      }
      if (problems.length >= config.problems) break;
    }
  } catch (error) {
    throw new AppError('config', `cannot read ${config.file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (problems.length === 0) throw new AppError('config', `no problems in ${config.file}`);
  return { problems, rejected };
}

/** Self-evaluation and rewriting need an LLM: only the openai policy has one. */
function linearizeExtrasFor(config: RunConfig, policy: Policy, seed: number): LinearizeExtras | undefined {
  if (config.selfEval === undefined && config.rewrite === undefined) return undefined;
  if (!('completeRaw' in policy)) throw new AppError('config', '--self-eval and --rewrite need an LLM: use --policy openai');
  const llm = policy as OpenAiPolicy;
  return {
    ...(config.selfEval === undefined ? {} : { selfEval: { config: { judgments: config.selfEval.judgments, seed }, judge: createLlmJudge(llm, (p) => domainOf(p.domain).prompt(p)) } }),
    ...(config.rewrite === undefined ? {} : { rewrite: { config: { ...config.rewrite, seed }, rewriter: createLlmRewriter(llm) } }),
  };
}

/** A producer that also keeps every dead letter it sends, so the run can report them. */
function recordingDeadLetters(producer: Producer, into: DeadLetter[]): Producer {
  return {
    send: async (topic, records) => {
      await producer.send(topic, records);
      if (!topic.endsWith(DLQ_SUFFIX)) return;
      for (const r of records) {
        const decoded = DeadLetterCodec.decode(r.value);
        if (decoded.ok) into.push(decoded.value);
      }
    },
    close: () => producer.close(),
  };
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
  const topologyConfig = topologyConfigOf(config);
  const { search, linearize } = topologyConfig;
  const { problems, rejected } = await loadProblems(config, logger);
  const domain = domainOf(problems[0]?.domain ?? config.domain);

  const transport = deps.transport ?? (config.brokers ? createKafkaTransport({ brokers: config.brokers, clientId: 'astro-stream-run' }) : createMemoryTransport({ clock }));
  const policy = await createPolicy(config.policy, { domainOf, clock, metrics, logger, ...(deps.apiKey === undefined ? {} : { apiKey: deps.apiKey }) });
  const extras = linearizeExtrasFor(config, policy, linearize.seed);
  const encoder = ParquetEncoder.create({ workers: 1 }, { metrics });
  await mkdir(config.out, { recursive: true });
  await transport.createTopics(allTopicSpecs({ partitions: config.partitions }));
  const deadLetters: DeadLetter[] = [];
  const producer = recordingDeadLetters(await transport.producer(), deadLetters);
  const topology = await startTopology(
    topologyConfig,
    { transport, producer, policy: () => policy, domainOf, encoder, metrics, logger, clock, ...(extras === undefined ? {} : { linearizeExtras: extras }) },
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

  if (deadLetters.length > 0) {
    // Readable without a broker: one JSON object per line, with the stage, the kind and the reason.
    await writeFile(join(config.out, 'dead_letters.jsonl'), deadLetters.map((d) => JSON.stringify(d)).join('\n') + '\n');
    logger.warn(`${deadLetters.length} record(s) went to the DLQ; see ${join(config.out, 'dead_letters.jsonl')}`);
  }
  const synthetic = config.policy.kind === 'dry-run';
  const files = topology.files();
  const wallMs = clock() - started;
  const summary = summarize({ problems: problems.length, metrics: metrics.snapshot(), wallMs, out: config.out });
  const manifest: DatasetManifest = {
    format: 'astro-dataset@1',
    created_at: clock(),
    command: deps.command ?? 'astro-stream run',
    configs: { run: config, search, linearize, ...(synthetic ? { synthetic: { policy: policy.version, note: 'steps from reference solutions with injected mistakes, not from a model' } } : {}) },
    config_hashes: { search: configHash(search), linearize: linearizeConfigHash(linearize), verifier: domain.verifier.configHash },
    versions: { astro_stream: ASTRO_STREAM_VERSION, policy: policy.version, verifier: verifierId(domain.verifier), linearizer: linearizerId },
    counts: { ...metrics.snapshot().counters, problems: problems.length, rejected_rows: rejected, dead_lettered: deadLetters.length, ...(synthetic ? { synthetic: 1 } : {}) },
    sources: sourcesFromFiles(files),
    files,
  };
  await writeManifest(config.out, manifest);
  return summary;
}

/** `run --train`: the closed loop (search, verify, linearize, sinks, rollouts, trainer) for --minutes. */
async function runTrainingCommand(config: RunConfig, flags: RunFlags): Promise<void> {
  let train: TrainConfig;
  try {
    train = parseTrainConfig({ ...(config.train ?? {}), ...(flags.minutes === undefined ? {} : { minutes: flags.minutes }), ...(flags.rlGroups === undefined ? {} : { rlBatchGroups: flags.rlGroups }) });
  } catch (error) {
    throw new AppError('config', `invalid train configuration: ${(error as Error).message}`);
  }
  const logger = stderrLogger('train');
  const transport = config.brokers ? createKafkaTransport({ brokers: config.brokers, clientId: 'astro-stream-train', logger }) : undefined;
  try {
    const summary = await runTraining(config, train, {
      logger,
      command: ['astro-stream', ...process.argv.slice(2)].join(' '),
      ...(transport === undefined ? {} : { transport }),
      onProgress: (p) =>
        process.stderr.write(`[train] ${(p.elapsedMs / 60_000).toFixed(1)} min: ${p.problemsFed} problems, ${p.trees} trees, ${p.rolloutGroups} rollout groups, ${p.steps} steps, policy v${p.version}\n`),
    });
    process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatTrainingSummary(summary));
  } finally {
    await transport?.close();
  }
}

export function createRunCommand(): Command {
  return new Command('run')
    .description('Run the whole topology in one process (in-process transport unless --brokers) and write a dataset')
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
    .option('--policy <kind>', 'onnx (built-in Countdown network), openai (OpenAI-compatible server) or dry-run (synthetic, from reference solutions) (default onnx)')
    .option('--base-url <url>', 'openai: server base URL including /v1, e.g. http://127.0.0.1:8000/v1')
    .option('--model <id>', 'openai: model id (default: the server\'s first model); onnx: model file')
    .option('--max-inflight <n>', 'openai: requests in flight at once from this process (default 64)', intFlag('--max-inflight'))
    .option('--timeout-ms <ms>', 'openai: time limit of one request attempt (default 120000)', intFlag('--timeout-ms'))
    .option('--attempts <n>', 'openai: attempts per request before the problem goes to the DLQ (default 5)', intFlag('--attempts'))
    .option('--backoff-ms <ms>', 'openai: first retry delay, doubled per retry with ±20% jitter (default 300)', intFlag('--backoff-ms'))
    .option('--endpoint <kind>', 'openai: completions (our prompt template) or chat (/v1/chat/completions with the server\'s chat template) (default completions)')
    .option('--family <name>', `openai, completions endpoint: prompt format, ${PROMPT_FAMILY_NAMES.join(', ')} (default: from the model id, else llama3)`)
    .option('--outage-ms <ms>', 'openai: how long requests wait for a server that is down before the problem goes to the DLQ (default 300000)', intFlag('--outage-ms'))
    .option('--mistake-rate <p>', 'dry-run: probability that a sampled step is a mistake (default 0.3)', numberFlag('--mistake-rate'))
    .option('--self-eval <n>', 'openai: keep a correct terminal only if the model approves it N times out of N (ASTRO self-evaluation; default off)', intFlag('--self-eval'))
    .option('--rewrite <parts>', 'openai: rewrite "steps", "backtracks" or "steps,backtracks" with the model; rewritten traces are re-verified (default off)')
    .option('--parallel-iterations <n>', 'MCTS iterations of one tree in flight at once, with virtual loss (default 1: sequential, reproducible)', intFlag('--parallel-iterations'))
    .option('--source <kind>', 'countdown (generator), jsonl or parquet (default countdown; jsonl/parquet when --file is given)')
    .option('--file <path>', 'problem file of a jsonl/parquet source (e.g. ../shared/datasets/math500.jsonl)')
    .option('--preset <name>', 'field mapping of the file: math500, aime, amc, gsm8k (default: from the file name)')
    .option('--config <file>', 'JSON config file (same keys as the README); flags override it')
    .option('--train', 'online RL: also run rollouts and the trainer; the policy improves and searchers hot-swap to each new version (built-in Countdown network); the problem stream is unbounded, --minutes ends it')
    .option('--minutes <m>', 'with --train: how long to run (default 10)', numberFlag('--minutes'))
    .option('--rl-groups <n>', 'with --train: also write verl and TRL Parquet batches of N rollout groups under OUT/rl/ (default 0 = off)', intFlag('--rl-groups'))
    .option('--json', 'print the summary as JSON')
    .action(async (flags: RunFlags) => {
      const fileLayer = flags.config ? readConfigFile(flags.config) : {};
      const config = parseRunConfig(mergeConfig(fileLayer, flagsToLayer(flags)));
      if (flags.train) {
        await runTrainingCommand(config, flags);
        return;
      }
      const apiKey = process.env.OPENAI_API_KEY;
      const summary = await runPipeline(config, { command: ['astro-stream', ...process.argv.slice(2)].join(' '), ...(apiKey ? { apiKey } : {}) });
      process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
    });
}

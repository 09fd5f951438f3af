import { Command } from 'commander';
import { AppError } from '../../../operators/common/errors.js';
import { prepareDatasetDir } from '../../sinks/datasetDir.js';
import { PROMPT_FAMILY_NAMES } from '../../policies/openai/index.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { intFlag, numberFlag, parseRewrite, mergeConfig, parseBrokers, parseKMix, parseRunConfig, readConfigFile, type RunConfig } from '../runConfig.js';
import { runPipeline } from '../runPipeline.js';
import { EXIT_INTERRUPTED, watchStopSignals, type StopSignals } from '../signals.js';
import { exitCodeOf, formatSummary } from '../summary.js';
import { formatTrainingSummary, runTraining } from '../../trainer/runWithTraining.js';
import { parseTrainConfig, type TrainConfig } from '../../trainer/trainConfig.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from '../util.js';
import type { PipelineExporter } from '../../metrics/metricsEndpoint.js';
import { addMetricsOptions, metricsEndpointFromFlags, type MetricsFlags } from '../../metrics/metricsFlags.js';

export { runPipeline, type RunDeps } from '../runPipeline.js';

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
  readonly question?: string;
  readonly answer?: string;
  readonly solution?: string;
  readonly id?: string;
  readonly sourceName?: string;
  readonly resume?: boolean;
  readonly overwrite?: boolean;
  readonly endpoint?: string;
  readonly family?: string;
  readonly outageMs?: number;
  readonly serveGguf?: string;
  readonly followPolicies?: string;
  readonly policyName?: string;
}

/** `--resume` / `--overwrite` → the config's outMode (absent when neither: the config file or the default decides). */
function outModeOf(flags: RunFlags): RunConfig['outMode'] | undefined {
  if (flags.resume === true && flags.overwrite === true) throw new AppError('config', '--resume and --overwrite exclude each other: continue the run in --out, or start it clean');
  return flags.resume === true ? 'resume' : flags.overwrite === true ? 'overwrite' : undefined;
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
    fields: { question: flags.question, answer: flags.answer, solution: flags.solution, id: flags.id },
    sourceName: flags.sourceName,
    outMode: outModeOf(flags),
    partitions: flags.partitions,
    policy: {
      // Serving a GGUF is the openai policy against a server this process runs.
      kind: flags.policy ?? (flags.serveGguf === undefined ? undefined : 'openai'),
      serve: flags.serveGguf,
      follow: flags.followPolicies,
      policyName: flags.policyName,
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

/** `run --train`: the closed loop (search, verify, linearize, sinks, rollouts, trainer) for --minutes. Returns the exit code. */
async function runTrainingCommand(config: RunConfig, flags: RunFlags, signals: StopSignals, exporter: PipelineExporter | undefined): Promise<number> {
  let train: TrainConfig;
  try {
    train = parseTrainConfig({ ...(config.train ?? {}), ...(flags.minutes === undefined ? {} : { minutes: flags.minutes }), ...(flags.rlGroups === undefined ? {} : { rlBatchGroups: flags.rlGroups }) });
  } catch (error) {
    throw new AppError('config', `invalid train configuration: ${(error as Error).message}`);
  }
  if (config.policy.serve !== undefined) throw new AppError('config', '--train trains the built-in Countdown network; a GGUF is trained by python -m astro_lm and followed with run --serve-gguf FILE --follow-policies DIR');
  if (config.outMode === 'resume') throw new AppError('config', '--resume is not supported with --train (a training run starts from its initial policy): use a new --out, or --overwrite');
  // Checked writable and refused when not empty, as for a run; the trainer writes its own manifest, so no reserve is kept.
  await (await prepareDatasetDir(config.out, config.outMode, { version: ASTRO_STREAM_VERSION })).releaseReserve();
  const logger = stderrLogger('train');
  const transport = config.brokers ? createKafkaTransport({ brokers: config.brokers, clientId: 'astro-stream-train', logger }) : undefined;
  try {
    const summary = await runTraining(config, train, {
      logger,
      command: ['astro-stream', ...process.argv.slice(2)].join(' '),
      stopRequested: () => signals.received(),
      ...(transport === undefined ? {} : { transport }),
      ...(exporter === undefined ? {} : { exporter }),
      onProgress: (p) =>
        process.stderr.write(`[train] ${(p.elapsedMs / 60_000).toFixed(1)} min: ${p.problemsFed} problems, ${p.trees} trees, ${p.rolloutGroups} rollout groups, ${p.steps} steps, policy v${p.version}\n`),
    });
    process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatTrainingSummary(summary));
    if (summary.interrupted !== null) return EXIT_INTERRUPTED;
    const deadLettered = Object.entries(summary.counters).filter(([k]) => k.endsWith('.dead_lettered')).reduce((n, [, v]) => n + v, 0);
    return deadLettered > 0 ? 3 : 0;
  } finally {
    await transport?.close();
  }
}

export function createRunCommand(): Command {
  return addMetricsOptions(new Command('run'))
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
    .option('--serve-gguf <file>', 'openai: serve this GGUF (e.g. from python -m astro_lm export) on a llama-server the run starts and stops, instead of --base-url; trees record <policy-name>@v<N>.<sha12>')
    .option('--follow-policies <dir|topic>', 'with --serve-gguf: switch to each newer GGUF version published to DIR/versions.jsonl (python -m astro_lm rl --policies DIR), or to astro.policy.v1 on --brokers (topic), while the run goes on')
    .option('--policy-name <name>', 'with --serve-gguf: policy family recorded and followed (default astro-lm, as python -m astro_lm rl --policy)')
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
    .option('--question <field>', 'jsonl/parquet: the question field of the rows (instead of, or over, --preset)')
    .option('--answer <field>', 'jsonl/parquet: the answer field')
    .option('--solution <field>', 'jsonl/parquet: a solution field the answer is extracted from (last \\boxed{}, #### n)')
    .option('--id <field>', 'jsonl/parquet: the row\'s own id field (default: the question text keys the id)')
    .option('--source-name <name>', 'jsonl/parquet: source name recorded in every problem and part of its id (default: the preset\'s, or the file name)')
    .option('--resume', 'continue the run in a non-empty --out: problems whose trees are there are skipped, new files are added')
    .option('--overwrite', 'remove the dataset in a non-empty --out first and start clean')
    .action(async (flags: RunFlags & MetricsFlags) => {
      // Installed first: Ctrl-C while the policy loads still ends in an orderly stop.
      const signals = watchStopSignals();
      let code: number;
      try {
        const fileLayer = flags.config ? readConfigFile(flags.config) : {};
        const config = parseRunConfig(mergeConfig(fileLayer, flagsToLayer(flags)));
        await using exporter = await metricsEndpointFromFlags(flags, flags.train ? 'run --train' : 'run', stderrLogger(flags.train ? 'train' : 'run'));
        if (flags.train) code = await runTrainingCommand(config, flags, signals, exporter);
        else {
          const apiKey = process.env.OPENAI_API_KEY;
          const summary = await runPipeline(config, { command: ['astro-stream', ...process.argv.slice(2)].join(' '), stopRequested: () => signals.received(), ...(apiKey ? { apiKey } : {}), ...(exporter ? { exporter } : {}) });
          process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
          code = exitCodeOf(summary);
        }
      } finally {
        signals.dispose();
      }
      process.exitCode = code;
      // Everything is flushed and written; a library handle still open (a Kafka client timer) must not
      // keep the process alive. Unref'd, so it only fires if something lingers.
      setTimeout(() => process.exit(code), 2000).unref();
    });
}

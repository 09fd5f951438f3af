import { join } from 'node:path';
import { domainOf } from '../../domains/registry.js';
import { AppError } from '../../operators/common/errors.js';
import { configHash } from '../../operators/common/hash.js';
import { InMemoryMetrics, type Logger } from '../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId } from '../../operators/linearize/linearizeConfig.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { verifierId } from '../../operators/verify/verifier.js';
import { DeadLetterCodec, DLQ_SUFFIX, dlqTopicOf } from '../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC } from '../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC } from '../../schemas/searchTree.js';
import { allTopicSpecs } from '../../schemas/topics.js';
import { countDomainVerdicts } from '../metrics/countVerdicts.js';
import type { PipelineExporter } from '../metrics/metricsEndpoint.js';
import { timedPolicy } from '../metrics/timedPolicy.js';
import { assertPolicyServes, createPolicy, policyDomainMismatch } from '../policies/factory.js';
import { assertFollowable, followServedVersions, servedVersions } from '../policies/followVersions.js';
import type { GgufVersionWatcher } from '../policies/ggufVersionWatcher.js';
import { tokenizerFor } from '../policies/policyTokenizer.js';
import { servedPolicyEnv } from '../llm/llmSetup.js';
import { createLlmJudge, createLlmRewriter, type OpenAiPolicy } from '../policies/openai/index.js';
import { prepareDatasetDir, type PreparedDatasetDir } from '../sinks/datasetDir.js';
import { openDeadLetterFile, type DeadLetterFile } from '../sinks/deadLetterFile.js';
import { sourcesFromFiles, writeManifest, type DatasetManifest, type ShardFile } from '../sinks/manifest.js';
import { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { listShardFiles } from '../sinks/rebuildManifest.js';
import { createProblemAdmission } from '../sources/admitProblems.js';
import { mappingFor, type ProblemFieldMapping } from '../sources/problemMapping.js';
import { assertReadableFile, generatedRows, readSourceRows, type SourceItem } from '../sources/sourceRows.js';
import { waitForDrain } from '../stages/drain.js';
import { STAGE_GROUPS } from '../stages/groups.js';
import type { LinearizeExtras } from '../stages/linearizeStage.js';
import type { RunningStage } from '../stages/stageRuntime.js';
import { PIPELINE_EDGES, startTopology } from '../stages/topology.js';
import { createKafkaTransport } from '../transport/kafka/kafkaTransport.js';
import { createMemoryTransport } from '../transport/memoryTransport.js';
import type { OutgoingRecord, Producer, Transport } from '../transport/transport.js';
import { startProgress } from './progress.js';
import { assertSameSettings, readResumeState, type ResumeState } from './resume.js';
import type { RunConfig } from './runConfig.js';
import { DeadLetterTally, summarize, type RunSummary } from './summary.js';
import { topologyConfigOf } from './topologyConfig.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from './util.js';

/** Everything a run needs from outside: injected so tests can drive a run in-process. */
export interface RunDeps {
  readonly transport?: Transport;
  readonly logger?: Logger;
  readonly clock?: () => number;
  readonly progress?: NodeJS.WriteStream | null;
  readonly command?: string;
  /** OpenAI API key for `--policy openai` (the CLI passes `OPENAI_API_KEY`). */
  readonly apiKey?: string;
  /** Prometheus exporter (`--metrics-port`): receives every count and watches the stages. */
  readonly exporter?: PipelineExporter;
  /** Polled: once it returns a reason (the signal's name), the run stops taking problems and winds down. */
  readonly stopRequested?: () => string | undefined;
  /** After a stop request, how long in-flight searches may still finish before they are abandoned (ms). Default 10 000. */
  readonly stopGraceMs?: number;
}

/** Where a run's problems come from, resolved and checked before anything is written. */
interface SourcePlan {
  readonly rows: () => AsyncIterable<SourceItem> | Iterable<SourceItem>;
  /** The domain of every problem of the source (file rows: the mapping's, `math` by default). */
  readonly domain: string;
  readonly label: string;
}

/** Checks the source (file readable, fields known) and says what it will yield; `config` errors name the flag. */
async function planSource(config: RunConfig): Promise<SourcePlan> {
  if (config.source === 'countdown') {
    const domain = domainOf(config.domain);
    const generate = domain.generate;
    if (generate === undefined) throw new AppError('config', `domain ${domain.name} has no generator`);
    return { domain: domain.name, label: `the ${domain.name} generator`, rows: () => generatedRows(generate({ count: config.problems, seed: config.seed, difficulty: config.numbers }), `generated ${domain.name} problem`) };
  }
  const file = config.file;
  if (file === undefined) throw new AppError('config', `--source ${config.source} needs --file`);
  await assertReadableFile(file);
  const mapping: ProblemFieldMapping = mappingFor(file, { preset: config.preset, ...config.fields, sourceName: config.sourceName });
  const kind = config.source;
  return { domain: mapping.domain ?? 'math', label: file, rows: () => readSourceRows(kind, file, mapping) };
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

/** A producer that also appends every dead letter it sends to the run's `dead_letters.jsonl` and tally. */
function recordingDeadLetters(producer: Producer, file: DeadLetterFile, tally: DeadLetterTally): Producer {
  return {
    send: async (topic, records) => {
      await producer.send(topic, records);
      if (!topic.endsWith(DLQ_SUFFIX)) return;
      for (const r of records) {
        const decoded = DeadLetterCodec.decode(r.value);
        if (!decoded.ok) continue;
        tally.add(decoded.value);
        await file.append(decoded.value);
      }
    },
    close: () => producer.close(),
  };
}

/** The problems a run publishes, read through the admission gate (bad rows are dead-lettered as they are read). */
interface AdmittedProblems {
  readonly records: OutgoingRecord[];
  /** Problems skipped because the dataset already has their trees (`--resume`). */
  readonly done: number;
}

async function admitProblems(config: RunConfig, plan: SourcePlan, deps: { producer: Producer; resume: ResumeState | undefined; metrics: InMemoryMetrics; clock: () => number; logger: Logger; stopRequested: () => string | undefined }): Promise<AdmittedProblems> {
  const admission = createProblemAdmission({ topic: PROBLEMS_TOPIC }, { clock: deps.clock, metrics: deps.metrics });
  const records: OutgoingRecord[] = [];
  let done = 0;
  for await (const item of plan.rows()) {
    if (deps.stopRequested() !== undefined) break;
    const admitted = admission.admit(item);
    if (admitted.kind === 'dead') {
      deps.logger.warn(`source: ${admitted.letter.reason}; the row goes to the DLQ`);
      await deps.producer.send(dlqTopicOf(PROBLEMS_TOPIC), [{ key: null, value: DeadLetterCodec.encode(admitted.letter) }]);
      continue;
    }
    if (admitted.kind === 'duplicate') {
      deps.logger.warn(`source: ${item.row.where} repeats problem ${admitted.problem.id}; skipped`);
      continue;
    }
    if (deps.resume?.doneProblems.has(admitted.problem.id) === true) done += 1;
    else records.push(admitted.record);
    if (records.length + done >= config.problems) break;
  }
  return { records, done };
}

// Thrown through waitForDrain's abort hook when a stop is requested: not an error.
const STOP = Symbol('stop requested');

/**
 * Runs the whole topology (source → search → verify → linearize → sinks) in this process until
 * every problem has gone through, then writes the manifest and returns the summary.
 *
 * Before any search: the configuration, the problem file and the policy are checked (`config`
 * errors), and the output directory is prepared (refused when not empty unless `outMode` says
 * resume or overwrite; proved writable). Bad source rows go to the DLQ as they are read. On a stop
 * request the run stops taking problems, lets in-flight searches finish for `stopGraceMs`, drains
 * what they produced through the sinks, and writes a manifest marked interrupted: the summary says
 * so (`interrupted`). A full or read-only disk stops it the same way, then rethrows the `storage`
 * error.
 */
export async function runPipeline(config: RunConfig, deps: RunDeps = {}): Promise<RunSummary> {
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger ?? stderrLogger('run');
  const stopRequested = deps.stopRequested ?? (() => undefined);
  const started = clock();
  const metrics = new InMemoryMetrics(deps.exporter?.metrics);
  const topologyConfig = topologyConfigOf(config);
  const { search, linearize } = topologyConfig;
  const hashes = { search: configHash(search), linearize: linearizeConfigHash(linearize) };

  // Everything that can be wrong with the configuration is found before the output is touched.
  const plan = await planSource(config);
  assertPolicyServes(config.policy.kind, plan.domain);
  assertFollowable(config.policy, config.brokers !== undefined || deps.transport !== undefined);
  const domain = domainOf(plan.domain);
  const policy = timedPolicy(await createPolicy(config.policy, { domainOf, clock, metrics, logger, served: servedPolicyEnv(search, process.env), ...(deps.apiKey === undefined ? {} : { apiKey: deps.apiKey }) }), metrics);
  let out: PreparedDatasetDir;
  let extras: LinearizeExtras;
  let tokenizer: Awaited<ReturnType<typeof tokenizerFor>>;
  let resume: ResumeState | undefined;
  try {
    tokenizer = await tokenizerFor(config.policy, domain, deps.apiKey === undefined ? {} : { apiKey: deps.apiKey });
    extras = { ...linearizeExtrasFor(config, policy, linearize.seed), tokenizer };
    out = await prepareDatasetDir(config.out, config.outMode, { clock, version: ASTRO_STREAM_VERSION });
    if (out.rebuild !== undefined) {
      if (out.rebuild.hadManifest) assertSameSettings(config.out, out.rebuild.manifest, hashes);
      for (const u of out.rebuild.unreadable) logger.warn(`--resume: ${u.path} cannot be read and is not part of the dataset: ${u.reason}`);
      resume = await readResumeState(config.out, out.existing);
    }
  } catch (error) {
    await policy.close?.();
    throw error;
  }

  const transport = deps.transport ?? (config.brokers ? createKafkaTransport({ brokers: config.brokers, clientId: 'astro-stream-run' }) : createMemoryTransport({ clock }));
  const encoder = ParquetEncoder.create({ workers: 1 }, { metrics });
  const deadLetterFile = openDeadLetterFile(join(config.out, 'dead_letters.jsonl'));
  const tally = new DeadLetterTally();
  let producer: Producer | undefined;
  let progress: { stop(): void } | undefined;
  let admitted: AdmittedProblems = { records: [], done: 0 };
  let interrupted: string | undefined;
  let failure: unknown;
  let files: ShardFile[] = [];
  let topologyStarted = false;
  let watcher: GgufVersionWatcher | undefined;
  try {
    await transport.createTopics(allTopicSpecs({ partitions: config.partitions }));
    watcher = await followServedVersions(config.policy, policy, { transport, groupId: `astro.policy-watch.run-${started}-${process.pid}`, logger, metrics });
    const offsetBase = resume === undefined ? undefined : await offsetsToSkip(transport, resume.offsetBase);
    producer = recordingDeadLetters(await transport.producer(), deadLetterFile, tally);
    admitted = await admitProblems(config, plan, { producer, resume, metrics, clock, logger, stopRequested });
    if (admitted.records.length === 0 && admitted.done === 0 && stopRequested() === undefined) {
      const first = tally.list()[0];
      throw new AppError('config', `no problems in ${plan.label}${first === undefined ? '' : `: all ${tally.total()} rows were dead-lettered (e.g. ${first.reason}); see ${deadLetterFile.path}`}`);
    }
    const topology = await startTopology(
      { ...topologyConfig, sink: { ...topologyConfig.sink, ...(offsetBase === undefined ? {} : { offsetBase }) } },
      { transport, producer, policy: () => policy, domainMismatch: (d) => policyDomainMismatch(config.policy.kind, d), domainOf: countDomainVerdicts(domainOf, metrics), encoder, metrics, logger, clock, linearizeExtras: extras },
    );
    topologyStarted = true;
    deps.exporter?.watch({ stages: () => topology.stages, transport, files: () => topology.files() });
    const total = admitted.records.length;
    progress =
      deps.progress === null
        ? undefined
        : startProgress({
            stream: deps.progress ?? process.stderr,
            clock,
            snapshot: () => ({
              label: 'search',
              done: metrics.counter('search.trees'),
              total,
              details: [
                ['valid', metrics.counter('search.trees') - metrics.counter('verify.invalid_trees')],
                ['traces', metrics.counter('traces.written')],
              ],
            }),
          });
    let fatal: unknown;
    topology.failed.catch((error: unknown) => {
      fatal = error;
    });
    const relinearize = resume?.treesToRelinearize ?? [];
    if (stopRequested() === undefined) {
      // Keyed as the search stage keys trees (by problem id): the same partition, so the tree sink sees the archived copy and drops it.
      if (relinearize.length > 0) await producer.send(TREES_TOPIC, relinearize.map((t) => ({ key: t.problem_id, value: SearchTreeCodec.encode(t) })));
      await producer.send(PROBLEMS_TOPIC, admitted.records);
    }
    try {
      await waitForDrain(transport, PIPELINE_EDGES, { abort: () => fatal ?? (stopRequested() === undefined ? undefined : STOP) });
    } catch (error) {
      if (error === STOP) interrupted = stopRequested();
      else failure = error;
    }
    if (interrupted !== undefined && failure === undefined) {
      failure = await windDown(topology.stages, transport, { graceMs: deps.stopGraceMs ?? 10_000, fatal: () => fatal, logger });
    }
    await stopAll(topology.stages, failure === undefined ? 30_000 : 5_000);
    files = topology.files();
    await deps.exporter?.refresh();
  } catch (error) {
    failure ??= error;
  } finally {
    progress?.stop();
    await producer?.close().catch(() => undefined);
    await encoder.close();
    await watcher?.stop();
    await policy.close?.();
    if (deps.transport === undefined) await transport.close();
    await deadLetterFile.close().catch((error: unknown) => (failure ??= error));
  }
  // Nothing was searched (a configuration error found while reading the source, a broker that
  // cannot be reached): there is no dataset to describe.
  if (failure !== undefined && !topologyStarted && resume === undefined) {
    await out.releaseReserve();
    throw failure;
  }
  if (failure !== undefined) interrupted ??= failure instanceof AppError ? `${failure.kind} error: ${failure.message}` : String(failure);

  if (tally.total() > 0) logger.warn(`${tally.total()} record(s) went to the DLQ; see ${deadLetterFile.path}`);
  const resumed = resume === undefined ? undefined : { problems_done: admitted.done, trees_relinearized: resume.treesToRelinearize.length };
  const summary = summarize({ problems: admitted.records.length, metrics: metrics.snapshot(), wallMs: clock() - started, out: config.out, deadLetters: tally, ...(resumed === undefined ? {} : { resumed }), interrupted: interrupted ?? null });
  const synthetic = config.policy.kind === 'dry-run';
  try {
    // Whatever stopped the run, the manifest lists every whole file on disk (this run's and, on resume, the earlier ones).
    await out.releaseReserve();
    const known = new Map([...out.existing, ...files].map((f) => [f.path, f]));
    const listed = (await listShardFiles(config.out, known)).files;
    const previousCounts = out.rebuild?.manifest.counts ?? {};
    const counts: Record<string, number> = { ...previousCounts };
    for (const [k, v] of Object.entries(metrics.snapshot().counters)) counts[k] = (counts[k] ?? 0) + v;
    Object.assign(counts, {
      problems: admitted.records.length + admitted.done,
      dead_lettered: (previousCounts.dead_lettered ?? 0) + tally.total(),
      ...(synthetic ? { synthetic: 1 } : {}),
    });
    const manifest: DatasetManifest = {
      format: 'astro-dataset@1',
      created_at: clock(),
      command: deps.command ?? 'astro-stream run',
      configs: { run: config, search, linearize, tokenizer: { name: tokenizer.name, exact: tokenizer.exact }, ...(synthetic ? { synthetic: { policy: policy.version, note: 'steps from reference solutions with injected mistakes, not from a model' } } : {}) },
      config_hashes: { ...hashes, verifier: domain.verifier.configHash },
      versions: { astro_stream: ASTRO_STREAM_VERSION, policy: servedVersions(policy), verifier: verifierId(domain.verifier), linearizer: linearizerId },
      counts,
      sources: sourcesFromFiles(listed),
      files: listed,
      ...(interrupted === undefined ? {} : { interrupted: { reason: interrupted, at: clock() } }),
    };
    await writeManifest(config.out, manifest);
  } catch (error) {
    if (failure === undefined) throw error;
    logger.error(`the manifest could not be written: ${error instanceof Error ? error.message : String(error)}; astro-stream dataset inspect --repair ${config.out} rebuilds it`);
  }
  if (failure !== undefined) throw failure;
  return summary;
}

/**
 * The shard-name offset bases a resumed run needs: for each partition whose topic now ends before
 * the highest offset a shard file names (always so on the in-process transport, whose offsets
 * restart at 0; on Kafka when the topic was recreated), new files continue after the old names
 * instead of overwriting them. A partition whose topic is still ahead keeps its real offsets.
 */
async function offsetsToSkip(transport: Transport, fileEnds: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const bases = new Map<string, number>();
  const ends = new Map<string, Map<number, number>>();
  for (const [key, next] of fileEnds) {
    const at = key.lastIndexOf(':');
    const topic = key.slice(0, at);
    let topicEnds = ends.get(topic);
    if (topicEnds === undefined) {
      topicEnds = await transport.endOffsets(topic).catch(() => new Map<number, number>());
      ends.set(topic, topicEnds);
    }
    if ((topicEnds.get(Number(key.slice(at + 1))) ?? 0) < next) bases.set(key, next);
  }
  return bases;
}

/**
 * After a stop request: the search stage stops taking problems (in-flight searches get `graceMs`,
 * then are abandoned), and what it already produced drains through verify, linearize and the
 * sinks. Returns a fatal error met meanwhile, if any.
 */
async function windDown(stages: readonly RunningStage[], transport: Transport, options: { graceMs: number; fatal: () => unknown; logger: Logger }): Promise<unknown> {
  for (const stage of stages.filter((s) => s.name === 'search')) await stage.stop({ abandonAfterMs: options.graceMs }).catch(() => undefined);
  try {
    await waitForDrain(
      transport,
      PIPELINE_EDGES.filter((e) => e.groupId !== STAGE_GROUPS.search),
      { abort: options.fatal, timeoutMs: 60_000 },
    );
    return undefined;
  } catch (error) {
    if (!(error instanceof AppError && error.kind === 'timeout')) return error;
    options.logger.warn(`stopping without waiting further: ${error.message}`);
    return undefined;
  }
}

/** Stops every stage, upstream first; a stage that already failed is passed over. */
async function stopAll(stages: readonly RunningStage[], abandonAfterMs: number): Promise<void> {
  for (const stage of stages) await stage.stop({ abandonAfterMs }).catch(() => undefined);
}

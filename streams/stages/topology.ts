import type { Domain } from '../../domains/domain.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import type { Policy } from '../../operators/mcts/policy.js';
import type { SearchConfig } from '../../operators/mcts/searchConfig.js';
import { PROBLEMS_TOPIC } from '../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../schemas/searchTree.js';
import { TraceCodec, TRACES_TOPIC, type Trace } from '../../schemas/trace.js';
import { VERIFIED_TREES_TOPIC } from '../../schemas/verifiedTree.js';
import type { ShardFile } from '../sinks/manifest.js';
import type { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createTraceParquetSink, TRACES_SUBDIR } from '../sinks/traceParquetSink.js';
import { createTreeArchiveSink, TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import { readArrowIds, readParquetIds } from './shardIds.js';
import type { Producer, Transport } from '../transport/transport.js';
import type { DrainEdge } from './drain.js';
import { fileSinkStage, type FileSinkStage } from './fileSinkStage.js';
import { STAGE_GROUPS } from './groups.js';
import { linearizeStageSpec, type LinearizeExtras } from './linearizeStage.js';
import { searchStageSpec } from './searchStage.js';
import { startStage, type RunningStage, type StageDeps } from './stageRuntime.js';
import { verifyStageSpec } from './verifyStage.js';

/** The stages one can deploy: each is one consumer group. */
export const STAGE_NAMES = ['search', 'verify', 'linearize', 'sink'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface TopologyConfig {
  readonly search: SearchConfig;
  readonly linearize: LinearizeConfig;
  readonly searchConcurrency: number;
  /** Iterations of one tree in flight at once (default 1: the sequential, reproducible search). */
  readonly parallelIterations?: number;
  readonly verifyTimeoutMs: number;
  /** Dataset directory of the sink stage. */
  readonly out: string;
  readonly sink: {
    readonly maxRecords: number;
    readonly lingerMs: number;
    /** Per `topic:partition`, added to the offsets in shard file names (a resumed in-process run; see fileSinkStage). */
    readonly offsetBase?: ReadonlyMap<string, number>;
  };
}

export interface TopologyDeps {
  readonly transport: Transport;
  readonly producer: Producer;
  readonly policy: () => Policy;
  /** Search stage: why the policy cannot search a domain, or undefined (see SearchStageDeps). */
  readonly domainMismatch?: (domain: string) => string | undefined;
  readonly domainOf: (name: string) => Domain;
  /** Needed by the sink stage only. */
  readonly encoder?: ParquetEncoder;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Consumer group to use instead of the stage's standard one (`stage --group`); sinks append `.traces` / `.trees`. */
  readonly groupId?: string;
  /** Self-evaluation and LLM rewriting for the linearize stage (off when absent). */
  readonly linearizeExtras?: LinearizeExtras;
}

export interface RunningTopology {
  readonly stages: readonly RunningStage[];
  /** Files written by this process's sinks. */
  files(): ShardFile[];
  /** Rejects when any stage fails fatally. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

/** Edges to wait on for a full drain, in topological order. */
export const PIPELINE_EDGES: readonly DrainEdge[] = [
  { groupId: STAGE_GROUPS.search, topic: PROBLEMS_TOPIC },
  { groupId: STAGE_GROUPS.verify, topic: TREES_TOPIC },
  { groupId: STAGE_GROUPS.sinkTrees, topic: TREES_TOPIC },
  { groupId: STAGE_GROUPS.linearize, topic: VERIFIED_TREES_TOPIC },
  { groupId: STAGE_GROUPS.sinkTraces, topic: TRACES_TOPIC },
];

/** Starts one stage (or, for `sink`, the trace and tree sinks) of the topology. */
export async function startNamedStage(name: StageName, config: TopologyConfig, deps: TopologyDeps): Promise<{ stages: RunningStage[]; sinks: FileSinkStage<unknown>[] }> {
  const stageDeps: StageDeps = { transport: deps.transport, producer: deps.producer, logger: deps.logger, metrics: deps.metrics, clock: deps.clock };
  const { metrics } = deps;
  switch (name) {
    case 'search':
      return {
        stages: [await startStage(searchStageSpec({ search: config.search, concurrency: config.searchConcurrency, ...(config.parallelIterations === undefined ? {} : { parallelIterations: config.parallelIterations }), ...group(deps) }, { policy: deps.policy, verifier: deps.domainOf('countdown').verifier, verifierOf: (p) => deps.domainOf(p.domain).verifier, clock: deps.clock, metrics, ...(deps.domainMismatch === undefined ? {} : { domainMismatch: deps.domainMismatch }) }), stageDeps)],
        sinks: [],
      };
    case 'verify':
      return { stages: [await startStage(verifyStageSpec({ concurrency: 32, timeoutMs: config.verifyTimeoutMs, ...group(deps) }, { verifier: deps.domainOf('countdown').verifier, verifierOf: (p) => deps.domainOf(p.domain).verifier, metrics }), stageDeps)], sinks: [] };
    case 'linearize':
      return { stages: [await startStage(linearizeStageSpec({ linearize: config.linearize, concurrency: 64, ...group(deps) }, { domainOf: deps.domainOf, metrics, ...(deps.linearizeExtras ?? {}) }), stageDeps)], sinks: [] };
    case 'sink': {
      if (deps.encoder === undefined) throw new TypeError('the sink stage needs a Parquet encoder');
      const traceSink = createTraceParquetSink({ dir: config.out, encoder: deps.encoder, metrics });
      const traces = fileSinkStage<Trace, Trace>(
        {
          name: 'sink-traces',
          groupId: deps.groupId === undefined ? STAGE_GROUPS.sinkTraces : `${deps.groupId}.traces`,
          topic: TRACES_TOPIC,
          dir: config.out,
          decode: TraceCodec.decode,
          toRows: (t) => [t],
          idOf: (t) => t.trace_id,
          batch: config.sink,
          ...(config.sink.offsetBase === undefined ? {} : { offsetBase: config.sink.offsetBase }),
        },
        { subdir: TRACES_SUBDIR, writeShard: (rows, p) => traceSink.writeShard(rows, p), readIds: async (path) => ({ ids: await readParquetIds(path, 'trace_id') }) },
        (rows) => countTraces(rows, metrics),
      );
      const treeSink = createTreeArchiveSink({ dir: config.out, trees: 'search', metrics });
      const trees = fileSinkStage<SearchTree, SearchTree>(
        {
          name: 'sink-trees',
          groupId: deps.groupId === undefined ? STAGE_GROUPS.sinkTrees : `${deps.groupId}.trees`,
          topic: TREES_TOPIC,
          dir: config.out,
          decode: SearchTreeCodec.decode,
          toRows: (t) => [t],
          idOf: (t) => t.tree_id,
          batch: config.sink,
          ...(config.sink.offsetBase === undefined ? {} : { offsetBase: config.sink.offsetBase }),
          // One source gives a problem id once (its admission dead-letters a conflicting row); two
          // sources can both give it. The first tree stays, as before; the drop is now visible.
          originOf: (tree) => tree.problem_topic,
          onConflict: (tree, keptFrom, droppedFrom) => {
            metrics.increment('sink.duplicate_problem_ids');
            deps.logger.warn(`sink-trees: problem id ${tree.problem_id} came from ${keptFrom} and again from ${droppedFrom}: the tree from ${keptFrom} is kept, the one from ${droppedFrom} (and its traces) dropped`);
          },
        },
        { subdir: TREES_SUBDIR, writeShard: (rows, p) => treeSink.writeShard(rows, p), readIds: (path) => readArrowIds(path, 'tree_id', 'problem_topic') },
      );
      return {
        stages: [await startStage(traces.spec, stageDeps), await startStage(trees.spec, stageDeps)],
        sinks: [traces as FileSinkStage<unknown>, trees as FileSinkStage<unknown>],
      };
    }
  }
}

const group = (deps: TopologyDeps): { groupId?: string } => (deps.groupId === undefined ? {} : { groupId: deps.groupId });

/** What the run summary reads: traces by variant and the backtrack histogram, counted as rows land. */
function countTraces(rows: readonly Trace[], metrics: Metrics): void {
  for (const row of rows) {
    metrics.increment('traces.written');
    metrics.increment(`traces.variant.${row.variant}`);
    metrics.increment(`traces.backtracks.${row.num_backtracks}`);
  }
}

/** Starts the given stages (default: all) in this process. */
export async function startTopology(config: TopologyConfig, deps: TopologyDeps, names: readonly StageName[] = STAGE_NAMES): Promise<RunningTopology> {
  const stages: RunningStage[] = [];
  const sinks: FileSinkStage<unknown>[] = [];
  for (const name of names) {
    const started = await startNamedStage(name, config, deps);
    stages.push(...started.stages);
    sinks.push(...started.sinks);
  }
  const failed = Promise.race(stages.map((s) => s.done.then(() => new Promise<never>(() => undefined)))) as Promise<never>;
  failed.catch(() => undefined);
  return {
    stages,
    files: () => sinks.flatMap((s) => s.files()),
    failed,
    stop: async () => {
      // Upstream first, so downstream stages still see what upstream finishes while stopping.
      for (const stage of stages) await stage.stop();
    },
  };
}

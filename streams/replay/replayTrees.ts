import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Domain } from '../../domains/domain.js';
import { domainOf as builtinDomainOf } from '../../domains/registry.js';
import { InMemoryMetrics, noopMetrics, type Logger, type Metrics } from '../../operators/common/metrics.js';
import { createCompletionDeduper } from '../../operators/linearize/completionDeduper.js';
import { linearizeConfigHash, linearizerId, type LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import type { Verifier } from '../../operators/verify/verifier.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { ShardFile } from '../sinks/manifest.js';
import type { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../sinks/traceParquetSink.js';
import { createTreeArchiveSink } from '../sinks/treeArchiveSink.js';
import { createRecordRebuilder, toFatal, type FatalError, type RebuildResult } from './rebuildBatch.js';
import { RebuildPool } from './rebuildPool.js';
import { rebuildTree, type TreeOutcome } from './rebuildTree.js';
import { writeReplayManifest, type ReplayManifest } from './replayManifest.js';
import type { ReplaySource, ReplaySourceInfo } from './replaySource.js';
import { TreeSorter } from './treeSorter.js';

const DEFAULT_MAX_TREES_IN_MEMORY = 20_000;
/** Spilled sort runs live here while a replay runs (dot-named: no reader globs it). */
const SPILL_DIR = '.replay-spill';

/** What to rebuild and where; validated at the edge (the CLI). */
export interface ReplayConfig {
  /** The linearizer configuration of the new dataset. */
  readonly linearize: LinearizeConfig;
  /** New dataset directory: `traces/`, `trees/` (the trees as labelled now), `manifest.json`. */
  readonly out: string;
  /** Trees per output file. Files hold consecutive trees in tree_id order, so names are deterministic. */
  readonly treesPerFile: number;
  /** Also archive the (re)labelled trees under `out/trees/`, so the new dataset can be replayed too. */
  readonly archiveTrees: boolean;
  /** Trees held in memory while sorting by tree_id; beyond it sorted runs spill to `out/.replay-spill/`. Default 20 000. */
  readonly maxTreesInMemory?: number;
  /** Recorded in the manifest (`command`). */
  readonly command: string;
  /** Extra configs recorded in the manifest (e.g. the replay window), by name. */
  readonly extraConfigs?: Readonly<Record<string, unknown>>;
  /**
   * Worker threads that decode, label and linearize records while a topic is still being read
   * (the output is the same either way). Used for sources that hand out undecoded records, with
   * the built-in domains and their own verifiers. Default 0 (everything on this thread): on a
   * 2-core machine next to its broker the workers measured slower (bench/results/replay.md).
   */
  readonly rebuildWorkers?: number;
}

/** Capabilities of a replay. There is deliberately no policy: no model is ever called. */
export interface ReplayDeps {
  readonly domainOf: (name: string) => Domain;
  /** The configured verifier of a domain; default the domain's own. Tests inject wrapped ones. */
  readonly verifierOf?: (domain: string) => Verifier;
  readonly encoder: ParquetEncoder;
  /** Epoch ms, for the manifest's `created_at` and the wall time. */
  readonly clock: () => number;
  /** Monotonic ms for throughput; default `performance.now`. */
  readonly now?: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /**
   * Reads how many model calls were made during the replay, from whatever stand-in the caller
   * put in place (`createNoModelPolicy().calls`); reported as `policy_calls`. Default: 0 calls
   * possible, as nothing here can reach a model.
   */
  readonly policyCalls?: () => number;
  /** The package version for the manifest. */
  readonly version: string;
}

/** What a replay did. */
export interface ReplayReport {
  readonly trees_read: number;
  /** Trees with a tree_id seen before in the source (at-least-once duplicates), dropped. */
  readonly duplicate_trees: number;
  readonly bad_records: number;
  /** Trees whose terminals the configured verifier labelled again (verifier changed or search trees). */
  readonly trees_reverified: number;
  /** Terminals whose label differs from the recorded one. */
  readonly labels_changed: number;
  /** Terminals this replay labelled "not equal" only because the verifier ran out of time. */
  readonly verdict_timeouts: number;
  readonly valid_trees: number;
  readonly invalid_trees: number;
  /** Trees the linearizer could not handle (kind and tree id logged). */
  readonly failed_trees: number;
  readonly traces: number;
  readonly traces_by_variant: Readonly<Record<string, number>>;
  readonly backtrack_histogram: Readonly<Record<string, number>>;
  /** Model calls made by this replay: always 0 unless something is badly wrong. */
  readonly policy_calls: number;
  /** Policy calls the recorded searches cost, reused here for free. */
  readonly search_policy_calls_reused: number;
  readonly files: number;
  readonly source_bytes: number;
  readonly wall_ms: number;
  /** Of wall_ms: reading and decoding the source (incl. joining the consumer group). */
  readonly read_ms: number;
  /** Of wall_ms: waiting for Parquet encoding and durable writes after the last tree was linearized. */
  readonly write_wait_ms: number;
  readonly trees_per_s: number;
  readonly mb_per_s: number;
  readonly out: string;
}

/** A tree already rebuilt by a worker, waiting for its turn in tree_id order. */
interface RebuiltItem {
  readonly tree: { readonly tree_id: string };
  readonly position: readonly [number, number];
  readonly outcome: TreeOutcome | null;
  readonly fatal: FatalError | null;
}

const PROGRAMMER_ERRORS: Readonly<Record<string, new (message: string) => Error>> = { TypeError, RangeError, ReferenceError, SyntaxError };

/** The worker's programmer error, as the same class here, so the replay ends the way an in-thread one would. */
function revive(fatal: FatalError): Error {
  const error = new (PROGRAMMER_ERRORS[fatal.name] ?? Error)(fatal.message);
  if (fatal.stack !== undefined) error.stack = fatal.stack;
  return error;
}

// Output files being encoded or written at once: two keep one encoder worker busy while this
// thread packs the next file; more only hold more rows in memory.
const MAX_FILES_IN_FLIGHT = 2;

// Records go to the workers while they have at most this many batches waiting; the rest are
// rebuilt here, so this thread shares the work instead of idling once the topic is read.
const MAX_WORKER_BACKLOG = 2;


const sortedCounts = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort(([a], [b]) => (Number.isNaN(Number(a)) ? a.localeCompare(b) : Number(a) - Number(b))));
const bump = (m: Map<string, number>, key: string, by = 1): void => {
  m.set(key, (m.get(key) ?? 0) + by);
};

/**
 * Rebuilds a dataset from recorded search trees: dedupe by tree_id, sort by tree_id, label with
 * the configured verifier where the recorded labels are not its own, linearize with the given
 * config, write Parquet files of `treesPerFile` trees each (`traces/traces-<n>.parquet`), then
 * the manifest with lineage. The same trees and config give byte-identical trace files in any
 * process: order comes from tree ids, not from arrival, and every trace field derives from the
 * tree and the config (`created_at` is the tree's).
 *
 * Memory is bounded: beyond `maxTreesInMemory` trees the sort spills runs to disk (external
 * merge sort), and only one file's trees and rows are in memory while rebuilding.
 */
export async function replayTrees(source: ReplaySource, config: ReplayConfig, deps: ReplayDeps): Promise<ReplayReport> {
  const metrics = deps.metrics ?? noopMetrics;
  const now = deps.now ?? (() => performance.now());
  const startedAt = now();
  await mkdir(config.out, { recursive: true });
  const sorter = new TreeSorter<RebuiltItem>({ maxInMemory: config.maxTreesInMemory ?? DEFAULT_MAX_TREES_IN_MEMORY, spillDir: join(config.out, SPILL_DIR) });
  let treesRead = 0;
  let sourceBytes = 0;
  let info: ReplaySourceInfo;
  const rebuildDeps = { domainOf: deps.domainOf, ...(deps.verifierOf === undefined ? {} : { verifierOf: deps.verifierOf }), linearize: config.linearize, keepLabelled: config.archiveTrees };
  // Workers can only rebuild with what they can import themselves: the built-in domains and verifiers.
  const workers = config.rebuildWorkers ?? 0;
  const pool =
    source.readEncoded !== undefined && source.encoding !== undefined && workers > 0 && deps.domainOf === builtinDomainOf && deps.verifierOf === undefined
      ? RebuildPool.start({ workers, encoding: source.encoding, linearize: config.linearize, keepLabelled: config.archiveTrees })
      : undefined;
  try {
    if (pool !== undefined && source.readEncoded !== undefined && source.encoding !== undefined) {
      // Trees are rebuilt as they arrive (on the workers, or here when they are behind) and their
      // outcomes sorted: output order still comes from tree ids alone.
      const rebuildHere = createRecordRebuilder(
        { encoding: source.encoding, linearize: config.linearize, keepLabelled: config.archiveTrees },
        { domainOf: deps.domainOf, ...(deps.verifierOf === undefined ? {} : { verifierOf: deps.verifierOf }) },
      );
      info = await source.readEncoded(async ({ value, position }) => {
        const done: RebuildResult = pool.backlog() <= MAX_WORKER_BACKLOG ? await pool.submit(value) : await rebuildHere(value);
        if (!done.ok) return done;
        treesRead += 1;
        sourceBytes += value.byteLength;
        sorter.add({ tree: { tree_id: done.tree_id }, position, outcome: done.outcome, fatal: done.fatal });
        return done;
      });
    } else {
      // Each tree is rebuilt as it arrives: what waits for the sort is its outcome (traces and
      // counts; the labelled tree only when archiving), so decoded trees die young instead of all
      // staying alive until the source is read.
      const rebuilding: Promise<void>[] = [];
      info = await source.read(({ tree, bytes, position }) => {
        treesRead += 1;
        sourceBytes += bytes;
        const tree_id = tree.tree_id;
        rebuilding.push(
          rebuildTree(tree, rebuildDeps).then(
            (outcome) => sorter.add({ tree: { tree_id }, position, outcome, fatal: null }),
            // A programmer error ends the replay when this tree's turn comes, as before any output.
            (error: unknown) => sorter.add({ tree: { tree_id }, position, outcome: null, fatal: toFatal(error) }),
          ),
        );
      });
      await Promise.all(rebuilding);
    }
  } catch (error) {
    sorter.close();
    throw error;
  } finally {
    await pool?.close();
  }
  const readMs = now() - startedAt;
  deps.logger?.info('replaying trees', { source: source.describe, trees_read: treesRead });

  const traceSink = createTraceParquetSink({ dir: config.out, encoder: deps.encoder, metrics });
  const treeSink = createTreeArchiveSink({ dir: config.out, trees: 'verified', metrics });
  const linearizeMetrics = new InMemoryMetrics();
  const files: ShardFile[] = [];
  const variants = new Map<string, number>();
  const backtracks = new Map<string, number>();
  const verifiers = new Set<string>();
  const verifierHashes = new Set<string>();
  const policies = new Set<string>();
  let reverified = 0;
  let labelsChanged = 0;
  let valid = 0;
  let failed = 0;
  let traces = 0;
  let searchCalls = 0;
  // Files being encoded and written. Up to MAX_FILES_IN_FLIGHT at once, so packing the next
  // file's rows on this thread overlaps encoding the previous one on the encoder's worker.
  const writing = new Set<Promise<void>>();

  // Trees of one problem (searched twice, with two policies, ...) may give the same completion:
  // the dataset keeps it once. Exact over the whole replay (~100 bytes per trace).
  const deduper = createCompletionDeduper({ maxEntries: Number.POSITIVE_INFINITY });
  let trees = 0;
  let sequence = 0;
  let rows: Trace[] = [];
  let labelled: VerifiedTree[] = [];
  let chunkTrees = 0;
  const account = (o: TreeOutcome): void => {
    policies.add(o.policy_version);
    searchCalls += o.search_policy_calls;
    if (o.verifier !== null) {
      verifiers.add(o.verifier.id);
      verifierHashes.add(o.verifier.config_hash);
    }
    if (o.reverified) reverified += 1;
    labelsChanged += o.labels_changed;
    if (o.labelled !== null) labelled.push(o.labelled);
    if (o.valid) valid += 1;
    for (const [name, by] of o.counters) linearizeMetrics.increment(name, by);
    for (const t of o.traces) {
      if (!deduper.admit(t)) {
        linearizeMetrics.increment('linearize.repeat_completion_dropped');
        continue;
      }
      bump(variants, t.variant);
      bump(backtracks, String(t.num_backtracks));
      rows.push(t);
    }
    if (o.failure !== null) {
      // One bad tree must not sink the rebuild; it is counted and named.
      failed += 1;
      deps.logger?.warn('replay skipped a tree', { tree_id: o.tree_id, kind: o.failure.kind, message: o.failure.message });
    }
  };
  const flush = async (): Promise<void> => {
    const fileRows = rows;
    const fileTrees = labelled;
    rows = [];
    labelled = [];
    chunkTrees = 0;
    traces += fileRows.length;
    const seq = sequence++;
    while (writing.size >= MAX_FILES_IN_FLIGHT) await Promise.race(writing);
    const write = (async () => {
      if (fileRows.length > 0) files.push(await traceSink.writeBatch(fileRows, seq));
      if (config.archiveTrees && fileTrees.length > 0) files.push(await treeSink.writeBatch(fileTrees, seq));
    })();
    writing.add(write);
    // Settled ones leave the set; a failure surfaces at the next flush or the final wait.
    write.then(
      () => writing.delete(write),
      () => undefined,
    );
  };
  try {
    for await (const item of sorter.sorted()) {
      trees += 1;
      if (item.fatal !== null) throw revive(item.fatal);
      if (item.outcome !== null) account(item.outcome);
      chunkTrees += 1;
      if (chunkTrees >= config.treesPerFile) await flush();
    }
    if (chunkTrees > 0) await flush();
  } finally {
    sorter.close();
  }
  const duplicates = sorter.duplicates();
  const lastTreeAt = now();
  await Promise.all(writing);
  const writeWaitMs = now() - lastTreeAt;
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const wallMs = now() - startedAt;
  const seconds = wallMs / 1000;
  const policyCalls = deps.policyCalls?.() ?? 0;
  // Counted per tree (possibly on a worker thread); passed on so an exporter sees them too.
  const verdictTimeouts = linearizeMetrics.counter('replay.verdict_timeouts');
  if (verdictTimeouts > 0) metrics.increment('replay.verdict_timeouts', verdictTimeouts);
  const report: ReplayReport = {
    trees_read: treesRead,
    duplicate_trees: duplicates,
    bad_records: info.badRecords,
    trees_reverified: reverified,
    labels_changed: labelsChanged,
    verdict_timeouts: verdictTimeouts,
    valid_trees: valid,
    invalid_trees: trees - valid - failed,
    failed_trees: failed,
    traces,
    traces_by_variant: sortedCounts(variants),
    backtrack_histogram: sortedCounts(backtracks),
    policy_calls: policyCalls,
    search_policy_calls_reused: searchCalls,
    files: files.length,
    source_bytes: sourceBytes,
    wall_ms: Math.round(wallMs),
    read_ms: Math.round(readMs),
    write_wait_ms: Math.round(writeWaitMs),
    trees_per_s: seconds > 0 ? trees / seconds : 0,
    mb_per_s: seconds > 0 ? sourceBytes / 1e6 / seconds : 0,
    out: config.out,
  };

  const one = (set: Set<string>, fallback: string): string => (set.size === 0 ? fallback : [...set].sort().join(','));
  const manifest: ReplayManifest = {
    format: 'astro-dataset@1',
    created_at: deps.clock(),
    command: config.command,
    // trees_per_file shapes the file layout, so it is part of what makes a rebuild reproducible.
    configs: { linearize: config.linearize, replay: { trees_per_file: config.treesPerFile, archive_trees: config.archiveTrees }, ...(config.extraConfigs ?? {}) },
    config_hashes: { linearize: linearizeConfigHash(config.linearize), verifier: one(verifierHashes, 'none') },
    versions: { astro_stream: deps.version, policy: one(policies, 'none'), verifier: one(verifiers, 'none'), linearizer: linearizerId },
    counts: {
      ...linearizeMetrics.snapshot().counters,
      trees_read: treesRead,
      trees,
      duplicate_trees: duplicates,
      bad_records: info.badRecords,
      trees_reverified: reverified,
      labels_changed: labelsChanged,
      valid_trees: valid,
      failed_trees: failed,
      traces,
      policy_calls: policyCalls,
    },
    sources: info.sources,
    files,
    lineage: info.lineage,
  };
  await writeReplayManifest(config.out, manifest);
  return report;
}

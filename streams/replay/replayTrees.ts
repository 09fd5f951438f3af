import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Domain } from '../../domains/domain.js';
import { isProgrammerError, toAppError } from '../../operators/common/errors.js';
import { InMemoryMetrics, noopMetrics, type Logger, type Metrics } from '../../operators/common/metrics.js';
import { linearizeConfigHash, linearizerId, type LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../../operators/linearize/linearizeTree.js';
import { verifierId, type Verifier } from '../../operators/verify/verifier.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import type { ShardFile } from '../sinks/manifest.js';
import type { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../sinks/traceParquetSink.js';
import { createTreeArchiveSink } from '../sinks/treeArchiveSink.js';
import { prepareTree } from './prepareTree.js';
import { writeReplayManifest, type ReplayManifest } from './replayManifest.js';
import type { ReplaySource } from './replaySource.js';
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
  const sorter = new TreeSorter({ maxInMemory: config.maxTreesInMemory ?? DEFAULT_MAX_TREES_IN_MEMORY, spillDir: join(config.out, SPILL_DIR) });
  let treesRead = 0;
  let sourceBytes = 0;
  let info: Awaited<ReturnType<ReplaySource['read']>>;
  try {
    info = await source.read(({ tree, bytes, position }) => {
      treesRead += 1;
      sourceBytes += bytes;
      sorter.add({ tree, position });
    });
  } catch (error) {
    sorter.close();
    throw error;
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
  // One file is encoded on the worker while the next chunk is linearized on this thread.
  let writing: Promise<void> = Promise.resolve();

  let trees = 0;
  let sequence = 0;
  const rebuild = async (chunk: readonly (SearchTree | VerifiedTree)[]): Promise<void> => {
    const rows: Trace[] = [];
    const labelled: VerifiedTree[] = [];
    for (const recorded of chunk) {
      policies.add(recorded.policy_version);
      searchCalls += recorded.stats.policy_calls;
      try {
        // An unknown domain is this tree's failure (kind `config`), not the whole rebuild's.
        const domain = deps.domainOf(recorded.problem.domain);
        const verifier = deps.verifierOf?.(domain.name) ?? domain.verifier;
        verifiers.add(verifierId(verifier));
        verifierHashes.add(verifier.configHash);
        const prepared = await prepareTree(recorded, verifier);
        if (prepared.reverified) reverified += 1;
        labelsChanged += prepared.labelsChanged;
        labelled.push(prepared.tree);
        if (prepared.tree.valid) valid += 1;
        const made = await linearizeTree(prepared.tree, config.linearize, { domain, verifier, metrics: linearizeMetrics });
        for (const t of made) {
          bump(variants, t.variant);
          bump(backtracks, String(t.num_backtracks));
        }
        rows.push(...made);
      } catch (error) {
        if (isProgrammerError(error)) throw error;
        // One bad tree must not sink the rebuild; it is counted and named.
        failed += 1;
        const e = toAppError(error, 'linearize');
        deps.logger?.warn('replay skipped a tree', { tree_id: recorded.tree_id, kind: e.kind, message: e.message });
      }
    }
    traces += rows.length;
    const seq = sequence++;
    await writing;
    writing = (async () => {
      if (rows.length > 0) files.push(await traceSink.writeBatch(rows, seq));
      if (config.archiveTrees && labelled.length > 0) files.push(await treeSink.writeBatch(labelled, seq));
    })();
  };

  try {
    let chunk: (SearchTree | VerifiedTree)[] = [];
    for await (const { tree } of sorter.sorted()) {
      trees += 1;
      chunk.push(tree);
      if (chunk.length >= config.treesPerFile) {
        await rebuild(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await rebuild(chunk);
  } finally {
    sorter.close();
  }
  const duplicates = sorter.duplicates();
  const lastTreeAt = now();
  await writing;
  const writeWaitMs = now() - lastTreeAt;
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const wallMs = now() - startedAt;
  const seconds = wallMs / 1000;
  const policyCalls = deps.policyCalls?.() ?? 0;
  const report: ReplayReport = {
    trees_read: treesRead,
    duplicate_trees: duplicates,
    bad_records: info.badRecords,
    trees_reverified: reverified,
    labels_changed: labelsChanged,
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

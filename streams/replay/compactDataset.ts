import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { sha256Hex } from '../../operators/common/hash.js';
import { createCompletionDeduper } from '../../operators/linearize/completionDeduper.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifyManifestFiles, type ShardFile } from '../sinks/manifest.js';
import type { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../sinks/traceParquetSink.js';
import { createTreeArchiveSink, readTreeArchive, TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import { listTraceFiles, readDatasetTraces } from './readTraceFiles.js';
import { readReplayManifest, writeReplayManifest, type ReplayLineage, type ReplayManifest } from './replayManifest.js';

export interface CompactConfig {
  /** Rows per output trace file (and trees per output archive file). */
  readonly rowsPerFile: number;
  readonly command: string;
  /**
   * What makes a row a repeat: `id` (default) the same trace_id (a redelivered shard); `text`
   * also the same completion for the same problem (two trees of a problem, two runs).
   */
  readonly dedupe?: 'id' | 'text';
}

export interface CompactDeps {
  readonly encoder: ParquetEncoder;
  readonly clock: () => number;
}

/** What a compaction did. */
export interface CompactReport {
  readonly rows_in: number;
  readonly rows_out: number;
  readonly duplicate_rows_dropped: number;
  /** Of those, rows with a new trace_id whose problem already had their completion (`dedupe: text`). */
  readonly repeated_completions_dropped: number;
  readonly trees_in: number;
  readonly trees_out: number;
  readonly duplicate_trees_dropped: number;
  readonly files_in: number;
  readonly files_out: number;
  readonly out: string;
}

const isVerified = (tree: SearchTree | VerifiedTree): tree is VerifiedTree => 'verifier_config_hash' in tree;

/**
 * Merges the shards of one dataset, or of several (several runs), into few large files in `out`:
 * traces in input, file-name then row order, the first row of each trace_id kept (redelivered
 * shards can repeat rows) and, with `dedupe: 'text'`, the first row of each completion of a
 * problem; trees likewise by tree_id. Every input must have a manifest whose checksums match
 * (compaction must not bless a damaged dataset); the new manifest keeps the input's configs,
 * versions and sources (several inputs: summed counts, joined versions, each input under
 * `configs.compacted_from`) and lists the new files, with the inputs as lineage.
 */
export async function compactDataset(input: string | readonly string[], out: string, config: CompactConfig, deps: CompactDeps): Promise<CompactReport> {
  const dirs = typeof input === 'string' ? [input] : [...input];
  if (dirs.length === 0) throw new AppError('config', 'compact needs at least one dataset directory');
  const inputs: { dir: string; manifest: ReplayManifest; text: string }[] = [];
  for (const dir of dirs) {
    const found = await readReplayManifest(dir);
    if (found === null) throw new AppError('config', `${dir} has no manifest.json; only complete datasets can be compacted`);
    const mismatches = await verifyManifestFiles(dir, found.manifest);
    if (mismatches.length > 0) {
      throw new AppError('schema', `${dir} does not match its manifest: ${mismatches.map((m) => `${m.path} (${m.reason})`).join(', ')}`);
    }
    const listed = new Set(found.manifest.files.map((f) => f.path));
    const treeNames = (await readdir(join(dir, TREES_SUBDIR)).catch(() => [] as string[])).filter((n) => n.endsWith('.arrow') && !n.startsWith('.'));
    const unlisted = [...(await listTraceFiles(dir)), ...treeNames.map((n) => `${TREES_SUBDIR}/${n}`)].filter((f) => !listed.has(f));
    // Files the manifest does not know (a crashed writer's, a copy) would slip into the merge unchecked.
    if (unlisted.length > 0) throw new AppError('schema', `${dir} holds files its manifest does not list: ${unlisted.join(', ')}`);
    inputs.push({ dir, ...found });
  }
  await mkdir(out, { recursive: true });
  const files: ShardFile[] = [];

  const traceSink = createTraceParquetSink({ dir: out, encoder: deps.encoder });
  const seenTraces = new Set<string>();
  // Exact over the whole compaction (~100 bytes per row kept).
  const texts = config.dedupe === 'text' ? createCompletionDeduper({ maxEntries: Number.POSITIVE_INFINITY }) : null;
  let rowsIn = 0;
  let rowsOut = 0;
  let repeatedTexts = 0;
  let buffer: Trace[] = [];
  let sequence = 0;
  for (const { dir } of inputs) {
    for await (const { trace } of readDatasetTraces(dir)) {
      rowsIn += 1;
      if (seenTraces.has(trace.trace_id)) continue;
      seenTraces.add(trace.trace_id);
      if (texts !== null && !texts.admit(trace)) {
        repeatedTexts += 1;
        continue;
      }
      rowsOut += 1;
      buffer.push(trace);
      if (buffer.length >= config.rowsPerFile) {
        files.push(await traceSink.writeBatch(buffer, sequence++));
        buffer = [];
      }
    }
  }
  if (buffer.length > 0) files.push(await traceSink.writeBatch(buffer, sequence++));

  // Search and verified trees have different Arrow schemas: one archive file never mixes them.
  const searchSink = createTreeArchiveSink({ dir: out, trees: 'search' });
  const verifiedSink = createTreeArchiveSink({ dir: out, trees: 'verified' });
  const seenTrees = new Set<string>();
  let treesIn = 0;
  let search: SearchTree[] = [];
  let verified: VerifiedTree[] = [];
  let treeSequence = 0;
  for (const { dir, manifest: source } of inputs) {
    if (!source.files.some((f) => f.kind === 'trees')) continue;
    for await (const tree of readTreeArchive(dir)) {
      treesIn += 1;
      if (seenTrees.has(tree.tree_id)) continue;
      seenTrees.add(tree.tree_id);
      if (isVerified(tree)) verified.push(tree);
      else search.push(tree);
      if (search.length >= config.rowsPerFile) {
        files.push(await searchSink.writeBatch(search, treeSequence++));
        search = [];
      }
      if (verified.length >= config.rowsPerFile) {
        files.push(await verifiedSink.writeBatch(verified, treeSequence++));
        verified = [];
      }
    }
  }
  if (search.length > 0) files.push(await searchSink.writeBatch(search, treeSequence++));
  if (verified.length > 0) files.push(await verifiedSink.writeBatch(verified, treeSequence++));

  const manifest: ReplayManifest = {
    ...mergedManifest(inputs),
    created_at: deps.clock(),
    command: config.command,
    files,
  };
  manifest.counts = {
    ...manifest.counts,
    traces: rowsOut,
    trees: seenTrees.size,
    duplicate_traces_dropped: rowsIn - seenTraces.size,
    duplicate_completions_dropped: repeatedTexts,
    duplicate_trees_dropped: treesIn - seenTrees.size,
  };
  await writeReplayManifest(out, manifest);
  return {
    rows_in: rowsIn,
    rows_out: rowsOut,
    duplicate_rows_dropped: rowsIn - rowsOut,
    repeated_completions_dropped: repeatedTexts,
    trees_in: treesIn,
    trees_out: seenTrees.size,
    duplicate_trees_dropped: treesIn - seenTrees.size,
    files_in: inputs.reduce((a, i) => a + i.manifest.files.length, 0),
    files_out: files.length,
    out,
  };
}

/**
 * The manifest fields a compaction keeps: one input's as they are; several inputs' merged
 * (counts summed, versions and hashes joined when they differ, sources concatenated, each input's
 * command and configs under `configs.compacted_from`), with every input file in the lineage.
 */
function mergedManifest(inputs: readonly { dir: string; manifest: ReplayManifest; text: string }[]): Omit<ReplayManifest, 'created_at' | 'command' | 'files'> {
  const one = inputs.length === 1;
  const lineage: ReplayLineage = {
    kind: 'compact',
    topic: null,
    group_id: null,
    from_offset: null,
    from_time: null,
    to_time: null,
    dir: inputs.map((i) => i.dir).join(','),
    files: inputs.flatMap((i) => i.manifest.files.map((f) => ({ path: one ? f.path : join(i.dir, f.path), bytes: f.bytes, sha256: f.sha256 }))),
    source_manifest_sha256: one ? sha256Hex((inputs[0] as { text: string }).text) : sha256Hex(inputs.map((i) => sha256Hex(i.text)).join('\n')),
  };
  const first = (inputs[0] as { manifest: ReplayManifest }).manifest;
  if (one) return { ...first, lineage };
  const joined = (values: readonly string[]): string => [...new Set(values)].join(',');
  const counts: Record<string, number> = {};
  for (const { manifest } of inputs) for (const [k, v] of Object.entries(manifest.counts)) counts[k] = (counts[k] ?? 0) + v;
  const hashKeys = new Set(inputs.flatMap((i) => Object.keys(i.manifest.config_hashes)));
  return {
    format: first.format,
    configs: { ...first.configs, compacted_from: inputs.map((i) => ({ dir: i.dir, command: i.manifest.command, configs: i.manifest.configs, config_hashes: i.manifest.config_hashes, versions: i.manifest.versions })) },
    config_hashes: Object.fromEntries([...hashKeys].map((k) => [k, joined(inputs.map((i) => i.manifest.config_hashes[k] ?? 'none'))])),
    versions: {
      astro_stream: joined(inputs.map((i) => i.manifest.versions.astro_stream)),
      policy: joined(inputs.map((i) => i.manifest.versions.policy)),
      verifier: joined(inputs.map((i) => i.manifest.versions.verifier)),
      linearizer: joined(inputs.map((i) => i.manifest.versions.linearizer)),
    },
    counts,
    sources: inputs.flatMap((i) => i.manifest.sources),
    lineage,
  };
}

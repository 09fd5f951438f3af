import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { sha256Hex } from '../../operators/common/hash.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifyManifestFiles, type ShardFile } from '../sinks/manifest.js';
import type { ParquetEncoder } from '../sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../sinks/traceParquetSink.js';
import { createTreeArchiveSink, readTreeArchive, TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import { listTraceFiles, readDatasetTraces } from './readTraceFiles.js';
import { readReplayManifest, writeReplayManifest, type ReplayManifest } from './replayManifest.js';

export interface CompactConfig {
  /** Rows per output trace file (and trees per output archive file). */
  readonly rowsPerFile: number;
  readonly command: string;
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
  readonly trees_in: number;
  readonly trees_out: number;
  readonly duplicate_trees_dropped: number;
  readonly files_in: number;
  readonly files_out: number;
  readonly out: string;
}

const isVerified = (tree: SearchTree | VerifiedTree): tree is VerifiedTree => 'verifier_config_hash' in tree;

/**
 * Merges a dataset's shards into few large files in `out`: traces in file-name then row order,
 * the first row of each trace_id kept (redelivered shards can repeat rows), trees likewise by
 * tree_id. The input must have a manifest whose checksums match (compaction must not bless a
 * damaged dataset); the new manifest keeps the input's configs, versions and sources and lists
 * the new files, with the input dataset as lineage.
 */
export async function compactDataset(dir: string, out: string, config: CompactConfig, deps: CompactDeps): Promise<CompactReport> {
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
  await mkdir(out, { recursive: true });
  const files: ShardFile[] = [];

  const traceSink = createTraceParquetSink({ dir: out, encoder: deps.encoder });
  const seenTraces = new Set<string>();
  let rowsIn = 0;
  let buffer: Trace[] = [];
  let sequence = 0;
  for await (const { trace } of readDatasetTraces(dir)) {
    rowsIn += 1;
    if (seenTraces.has(trace.trace_id)) continue;
    seenTraces.add(trace.trace_id);
    buffer.push(trace);
    if (buffer.length >= config.rowsPerFile) {
      files.push(await traceSink.writeBatch(buffer, sequence++));
      buffer = [];
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
  const hasTrees = found.manifest.files.some((f) => f.kind === 'trees');
  if (hasTrees) {
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
    if (search.length > 0) files.push(await searchSink.writeBatch(search, treeSequence++));
    if (verified.length > 0) files.push(await verifiedSink.writeBatch(verified, treeSequence++));
  }

  const source = found.manifest;
  const manifest: ReplayManifest = {
    ...source,
    created_at: deps.clock(),
    command: config.command,
    counts: {
      ...source.counts,
      traces: seenTraces.size,
      trees: seenTrees.size,
      duplicate_traces_dropped: rowsIn - seenTraces.size,
      duplicate_trees_dropped: treesIn - seenTrees.size,
    },
    files,
    lineage: {
      kind: 'compact',
      topic: null,
      group_id: null,
      from_offset: null,
      from_time: null,
      to_time: null,
      dir,
      files: source.files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 })),
      source_manifest_sha256: sha256Hex(found.text),
    },
  };
  await writeReplayManifest(out, manifest);
  return {
    rows_in: rowsIn,
    rows_out: seenTraces.size,
    duplicate_rows_dropped: rowsIn - seenTraces.size,
    trees_in: treesIn,
    trees_out: seenTrees.size,
    duplicate_trees_dropped: treesIn - seenTrees.size,
    files_in: source.files.length,
    files_out: files.length,
    out,
  };
}

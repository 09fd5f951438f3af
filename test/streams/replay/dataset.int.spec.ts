import { cp, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../../../streams/sinks/traceParquetSink.js';
import { createTreeArchiveSink, readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { compactDataset } from '../../../streams/replay/compactDataset.js';
import { inspectDataset } from '../../../streams/replay/inspectDataset.js';
import { readReplayManifest, writeReplayManifest } from '../../../streams/replay/replayManifest.js';
import { flippingVerifier, flips, generateDataset, readRows } from './fixtures.js';

let root: string;
let src: string;
let encoder: ParquetEncoder;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'astro-dataset-'));
  src = join(root, 'run');
  encoder = ParquetEncoder.create({ workers: 1 });
  await generateDataset(src, { seed: 11 });
});
afterAll(async () => {
  await encoder.close();
  await rm(root, { recursive: true, force: true });
});

/** A copy of the run with a redelivered trace shard and tree archive (duplicates), listed in its manifest. */
async function withDuplicates(name: string): Promise<{ dir: string; dupRows: number; dupTrees: number }> {
  const dir = join(root, name);
  await cp(src, dir, { recursive: true });
  const rows = (await readRows(src)).slice(0, 5);
  const trees: SearchTree[] = [];
  for await (const t of readTreeArchive(src)) if (trees.length < 2) trees.push(t as SearchTree);
  const found = await readReplayManifest(dir);
  const manifest = found?.manifest as NonNullable<typeof found>['manifest'];
  const traceFile = await createTraceParquetSink({ dir, encoder }).writeBatch(rows, 99);
  const treeFile = await createTreeArchiveSink({ dir, trees: 'search' }).writeBatch(trees, 99);
  await writeReplayManifest(dir, { ...manifest, files: [...manifest.files, traceFile, treeFile] });
  return { dir, dupRows: rows.length, dupTrees: trees.length };
}

describe('dataset inspect', () => {
  it('counts rows by variant, backtracks, source and policy, and finds no disagreement with the same verifier', async () => {
    const manifest = await readManifest(src);
    const rows = await readRows(src);
    const i = await inspectDataset(src, { domainOf });
    expect(i.manifest).toBe(true);
    expect(i.manifest_mismatches).toEqual([]);
    expect(i.rows).toBe(rows.length);
    expect(i.rows).toBe(manifest.counts['traces.written']);
    expect(i.by_variant).toEqual({ direct: manifest.counts['traces.variant.direct'], search: manifest.counts['traces.variant.search'] });
    expect(Object.values(i.backtrack_histogram).reduce((a, b) => a + b, 0)).toBe(rows.length);
    expect(i.by_policy_version).toEqual({ [manifest.versions.policy]: rows.length });
    expect(i.by_source).toEqual({ 'countdown-generator': rows.length });
    expect(i.duplicate_ids).toBe(0);
    expect(i.trace_disagreements).toBe(0);
    expect(i.trees.count).toBe(manifest.counts['search.trees']);
    expect(i.trees.label_disagreements).toBe(0);
  });

  it('reports the disagreements of another verifier with the recorded labels', async () => {
    const flipping = flippingVerifier(domainOf('countdown').verifier);
    const i = await inspectDataset(src, { domainOf, verifierOf: () => flipping });
    const rows = await readRows(src);
    expect(i.trace_disagreements).toBe(rows.filter((r) => flips(r.completion)).length);
    let expected = 0;
    for await (const t of readTreeArchive(src)) for (const n of t.nodes) if (n.terminal && n.correct !== null && flips(n.step)) expected += 1;
    expect(i.trees.label_disagreements).toBe(expected);
    expect(i.verifiers).toEqual(['countdown@1.0.0-flip']);
  });

  it('flags a damaged file and files the manifest does not list', async () => {
    const { dir } = await withDuplicates('damaged');
    const manifest = await readManifest(dir);
    const victim = manifest.files.find((f) => f.kind === 'traces')?.path as string;
    await unlink(join(dir, victim));
    await cp(join(dir, 'traces/traces-000000000099.parquet'), join(dir, 'traces/stray.parquet'));
    const i = await inspectDataset(dir, { domainOf });
    expect(i.manifest_mismatches).toEqual([{ path: victim, reason: 'missing' }]);
    expect(i.unlisted_files).toEqual(['traces/stray.parquet']);
    await expect(compactDataset(dir, join(root, 'never'), { rowsPerFile: 10, command: 't' }, { encoder, clock: () => 0 })).rejects.toThrow(AppError);
  });
});

describe('dataset compact', () => {
  it('merges shards, drops duplicate ids, keeps every unique row in order, and writes a consistent manifest', async () => {
    const { dir, dupRows, dupTrees } = await withDuplicates('dups');
    const before = await inspectDataset(dir, { domainOf });
    expect(before.duplicate_ids).toBe(dupRows);
    const out = join(root, 'compact');
    const report = await compactDataset(dir, out, { rowsPerFile: 7, command: 'astro-stream dataset compact' }, { encoder, clock: () => 42 });
    const original = await readRows(src);
    expect(report).toMatchObject({ rows_in: original.length + dupRows, rows_out: original.length, duplicate_rows_dropped: dupRows, duplicate_trees_dropped: dupTrees });

    const compacted = await readRows(out);
    // The run's files hold each row once; the first occurrence (file-name order) is kept.
    expect(compacted).toEqual(original);
    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    const traceFiles = manifest.files.filter((f) => f.kind === 'traces');
    expect(traceFiles.map((f) => f.rows)).toEqual(Array.from({ length: Math.ceil(original.length / 7) }, (_, i) => Math.min(7, original.length - 7 * i)));
    expect(manifest.counts['traces']).toBe(original.length);
    expect(manifest.counts['duplicate_traces_dropped']).toBe(dupRows);
    expect(manifest.sources).toEqual((await readManifest(src)).sources);
    expect(manifest.created_at).toBe(42);
    const lineage = (await readReplayManifest(out))?.manifest.lineage;
    expect(lineage?.kind).toBe('compact');
    expect(lineage?.files).toHaveLength((await readManifest(dir)).files.length);

    const after = await inspectDataset(out, { domainOf });
    expect(after.duplicate_ids).toBe(0);
    expect(after.trees.count).toBe(before.trees.count - dupTrees);
  });
});

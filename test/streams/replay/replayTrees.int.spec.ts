import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../models/ortTelemetryOff.js';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { domainOf } from '../../../domains/registry.js';
import { silentLogger } from '../../../operators/common/metrics.js';
import { linearizeConfigHash, parseLinearizeConfig, type LinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import type { Trace } from '../../../schemas/trace.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { createOnnxCountdownPolicy } from '../../../streams/policies/onnxPolicy.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { archiveSource, baseLinearizeConfig, createNoModelPolicy, readReplayManifest, replayTrees, type ReplayReport } from '../../../streams/replay/index.js';
import { fileHashes, flippingVerifier, flips, generateDataset, readRows } from './fixtures.js';

let root: string;
let src: string;
let encoder: ParquetEncoder;
let original: LinearizeConfig;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'astro-replay-'));
  src = join(root, 'run');
  encoder = ParquetEncoder.create({ workers: 1 });
  const summary = await generateDataset(src);
  expect(summary.valid_trees).toBeGreaterThan(1);
  original = parseLinearizeConfig(baseLinearizeConfig(await readManifest(src)));
});
afterAll(async () => {
  await encoder.close();
  await rm(root, { recursive: true, force: true });
});

async function replay(name: string, linearize: LinearizeConfig, extra: { verifier?: Verifier; from?: string; maxTreesInMemory?: number } = {}): Promise<{ out: string; report: ReplayReport; calls: number }> {
  const out = join(root, name);
  const noModel = createNoModelPolicy();
  const report = await replayTrees(
    archiveSource(extra.from ?? join(src, 'trees')),
    { linearize, out, treesPerFile: 2, archiveTrees: true, command: `test ${name}`, ...(extra.maxTreesInMemory === undefined ? {} : { maxTreesInMemory: extra.maxTreesInMemory }) },
    {
      domainOf,
      encoder,
      clock: () => 1_700_000_000_000,
      logger: silentLogger,
      policyCalls: noModel.calls,
      version: 'test',
      ...(extra.verifier === undefined ? {} : { verifierOf: () => extra.verifier as Verifier }),
    },
  );
  return { out, report, calls: noModel.calls() };
}

const byTree = (rows: readonly Trace[]): Map<string, Trace[]> => {
  const m = new Map<string, Trace[]>();
  for (const r of rows) m.set(r.tree_id, [...(m.get(r.tree_id) ?? []), r]);
  return m;
};
// The fields a k mix cannot change for a variant both mixes share.
const content = ({ trace_id: _id, linearizer_config_hash: _h, ...rest }: Trace): Omit<Trace, 'trace_id' | 'linearizer_config_hash'> => rest;

describe('replayTrees from a run archive', () => {
  it('with the recorded config reproduces the original rows exactly (ids and text)', async () => {
    const { report, out, calls } = await replay('same', original);
    const sort = (rows: Trace[]): Trace[] => [...rows].sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1));
    expect(sort(await readRows(out))).toEqual(sort(await readRows(src)));
    expect(report.policy_calls).toBe(0);
    expect(calls).toBe(0);
    expect(report.search_policy_calls_reused).toBeGreaterThan(0);
  });

  it('twice with another k mix: identical files, differing from the original only where the k mix does', async () => {
    const mix = { ...original, kMix: [...original.kMix, 3] };
    // Every onnxruntime session creation and inference in this process is counted.
    const created = vi.spyOn(InferenceSession, 'create');
    // The typings describe a factory; at runtime InferenceSession is a class whose instances run().
    const inferred = vi.spyOn((InferenceSession as unknown as { prototype: { run(): Promise<unknown> } }).prototype, 'run');
    const a = await replay('mix-a', mix);
    // The second replay sorts with 2 trees in memory: spilled runs must not change a byte.
    const b = await replay('mix-b', mix, { maxTreesInMemory: 2 });
    expect(await readdir(b.out)).toEqual(['manifest.json', 'traces', 'trees']);
    // Zero model calls: no model loaded, no inference, and the stand-in policy each replay reports from was never called.
    expect([created.mock.calls.length, inferred.mock.calls.length]).toEqual([0, 0]);
    expect([a.calls, b.calls, a.report.policy_calls, b.report.policy_calls]).toEqual([0, 0, 0, 0]);
    // The spies do see a model being loaded and run (positive control).
    const policy = await createOnnxCountdownPolicy({ maxBatch: 8 });
    const problem = domainOf('countdown').generate?.({ count: 1, seed: 1, difficulty: 3 })[0];
    if (problem === undefined) throw new Error('no problem generated');
    await policy.proposeSteps([{ problem, steps: [] }], 2, { seed: 1, temperature: 1, topP: 1 });
    await policy.close?.();
    expect(created.mock.calls.length).toBe(1);
    expect(inferred.mock.calls.length).toBeGreaterThan(0);
    created.mockRestore();
    inferred.mockRestore();

    const ma = await readManifest(a.out);
    const mb = await readManifest(b.out);
    expect(ma.files.map((f) => [f.path, f.rows, f.sha256])).toEqual(mb.files.map((f) => [f.path, f.rows, f.sha256]));
    expect(await fileHashes(b.out, mb.files.map((f) => f.path))).toEqual(await fileHashes(a.out, ma.files.map((f) => f.path)));
    // treesPerFile 2 over ≥ 5 trees: several files, named by sequence.
    expect(ma.files.filter((f) => f.kind === 'traces').map((f) => f.path)[0]).toBe('traces/traces-000000000000.parquet');
    expect(ma.files.filter((f) => f.kind === 'traces').length).toBeGreaterThan(1);

    const rowsA = await readRows(a.out);
    expect(rowsA).toEqual(await readRows(b.out));
    // Rows come in tree_id order.
    const treeOrder = rowsA.map((r) => r.tree_id);
    expect(treeOrder).toEqual([...treeOrder].sort());

    const originalByTree = byTree(await readRows(src));
    const replayByTree = byTree(rowsA);
    expect([...replayByTree.keys()].sort()).toEqual([...originalByTree.keys()].sort());
    let added = 0;
    for (const [tree, rows] of originalByTree) {
      const replayed = replayByTree.get(tree) ?? [];
      // The variants both mixes share come out the same; the new k=3 entry adds at most one trace.
      expect(replayed.slice(0, rows.length).map(content)).toEqual(rows.map(content));
      expect(replayed.length - rows.length).toBeLessThanOrEqual(1);
      for (const extra of replayed.slice(rows.length)) {
        expect(extra.variant).toBe('search');
        expect(extra.k).toBeGreaterThanOrEqual(1);
        expect(extra.k).toBeLessThanOrEqual(3);
        added += 1;
      }
      for (const r of replayed) expect(r.linearizer_config_hash).toBe(linearizeConfigHash(mix));
    }
    expect(added).toBeGreaterThan(0);
    expect(a.report.traces).toBe(rowsA.length);
    expect(await verifyManifestFiles(a.out, ma)).toEqual([]);
  });

  it('writes lineage: archive files with checksums, the input manifest hash, topic ranges, configs and versions', async () => {
    const { out } = await replay('lineage', original);
    const found = await readReplayManifest(out);
    const m = found?.manifest;
    const input = await readManifest(src);
    expect(m?.lineage?.kind).toBe('dir');
    expect(m?.lineage?.files.map((f) => f.path)).toEqual(input.files.filter((f) => f.kind === 'trees').map((f) => f.path).sort());
    for (const f of m?.lineage?.files ?? []) expect(input.files.find((x) => x.path === f.path)?.sha256).toBe(f.sha256);
    expect(m?.lineage?.source_manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m?.sources.every((s) => s.topic === 'astro.trees.v1')).toBe(true);
    expect(m?.config_hashes['linearize']).toBe(linearizeConfigHash(original));
    expect(m?.configs['replay']).toEqual({ trees_per_file: 2, archive_trees: true });
    expect(m?.versions).toMatchObject({ verifier: 'countdown@1.0.0', linearizer: input.versions.linearizer, policy: input.versions.policy });
    expect(m?.counts['policy_calls']).toBe(0);
    const traceRows = m?.files.filter((f) => f.kind === 'traces').reduce((s, f) => s + f.rows, 0);
    expect(traceRows).toBe((await readRows(out)).length);
  });
});

describe('replayTrees with a changed verifier version', () => {
  it('re-labels every terminal and reports exactly how many labels changed', async () => {
    const trees: SearchTree[] = [];
    for await (const t of readTreeArchive(src)) trees.push(t as SearchTree);
    let expected = 0;
    for (const t of trees) for (const n of t.nodes) if (n.terminal && n.correct !== null && flips(n.step)) expected += 1;
    expect(expected).toBeGreaterThan(0);

    const flipping = flippingVerifier(domainOf('countdown').verifier);
    const { report, out, calls } = await replay('flipped', original, { verifier: flipping });
    expect(report.trees_reverified).toBe(trees.length);
    expect(report.labels_changed).toBe(expected);
    expect(calls).toBe(0);
    expect(flipping.calls()).toBeGreaterThan(0);

    // The archived trees carry the new labels and the new verifier.
    const relabelled: VerifiedTree[] = [];
    for await (const t of readTreeArchive(out)) relabelled.push(t as VerifiedTree);
    expect(relabelled.every((t) => t.verifier === 'countdown@1.0.0-flip')).toBe(true);
    expect(relabelled.reduce((s, t) => s + t.relabelled, 0)).toBe(expected);
    for (const r of await readRows(out)) expect(r.verifier).toBe('countdown@1.0.0-flip');
  });

  it('reuses labels of trees verified by the same verifier, and re-verifies them for another', async () => {
    // The replay output archives verified trees (countdown@1.0.0): a second-generation source.
    const first = await replay('gen1', original);
    const same = await replay('gen2-same', original, { from: first.out });
    expect(same.report.trees_reverified).toBe(0);
    expect(same.report.labels_changed).toBe(0);
    expect(await readRows(same.out)).toEqual(await readRows(first.out));
    const flipped = await replay('gen2-flip', original, { from: first.out, verifier: flippingVerifier(domainOf('countdown').verifier) });
    expect(flipped.report.trees_reverified).toBe(first.report.trees_read);
    expect(flipped.report.labels_changed).toBeGreaterThan(0);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOf } from '../../../domains/registry.js';
import { silentLogger } from '../../../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { VerifiedTreeCodec, VERIFIED_TREES_TOPIC, type VerifiedTree } from '../../../schemas/verifiedTree.js';
import { readReplayManifest, replayTrees, topicSource, type ReplayReport } from '../../../streams/replay/index.js';
import { RebuildPool } from '../../../streams/replay/rebuildPool.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { fileHashes, generateDataset } from './fixtures.js';

let root: string;
let encoder: ParquetEncoder;
let transport: Transport;
let trees: SearchTree[];
let groups = 0;

const utf8 = new TextEncoder();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'astro-rebuild-pool-'));
  encoder = ParquetEncoder.create({ workers: 1 });
  const run = join(root, 'run');
  await generateDataset(run, { problems: 8, seed: 11 });
  trees = [];
  for await (const t of readTreeArchive(run)) trees.push(t as SearchTree);
  expect(trees.length).toBeGreaterThan(4);
  transport = createMemoryTransport({ clock: () => 1_800_000_000_000 });
  await transport.createTopics(allTopicSpecs({ partitions: 3 }));
  const producer = await transport.producer();
  const search = trees;
  // Every tree twice under new ids (more work per file), duplicates of one id with different
  // content at several positions (the lowest position must win), a tree of an unknown domain,
  // and records that are not trees.
  const records = [...search, ...search.map((t) => ({ ...t, tree_id: `${t.tree_id}-b` }))].map((t, i) => ({ key: t.tree_id, value: SearchTreeCodec.encode(t), partition: i % 3 }));
  const first = search[0] as SearchTree;
  records.push({ key: 'dup', value: SearchTreeCodec.encode({ ...first, seed: first.seed + 1 }), partition: 2 });
  records.unshift({ key: 'dup', value: SearchTreeCodec.encode({ ...first, seed: first.seed + 2 }), partition: 1 });
  records.push({ key: 'odd', value: SearchTreeCodec.encode({ ...first, tree_id: 'unknown-domain', problem: { ...first.problem, domain: 'chess' } }), partition: 0 });
  records.push({ key: 'junk', value: utf8.encode('not json'), partition: 1 });
  records.push({ key: 'junk', value: utf8.encode('{"tree_id":"x"}'), partition: 2 });
  await producer.send(TREES_TOPIC, records);
  // Labelled by the configured verifier (labels reused) or, every other tree, by another one (labelled again).
  const verifier = domainOf('countdown').verifier;
  const verified: VerifiedTree[] = await Promise.all(trees.map((t) => labelTree(t, verifier)));
  await producer.send(
    VERIFIED_TREES_TOPIC,
    verified.map((t, i) => ({ key: t.tree_id, value: VerifiedTreeCodec.encode(i % 2 === 0 ? t : { ...t, verifier: 'other@0' }), partition: i % 3 })),
  );
  await producer.close();
});
// Replays still running when a test gives up (its watchdog timeout) would keep writing into
// `root` while afterAll removes it (ENOTEMPTY, temp dirs left behind): afterAll waits for them.
const pending = new Set<Promise<unknown>>();
afterAll(async () => {
  await Promise.allSettled([...pending]);
  await encoder.close();
  await transport.close();
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

// Each replay starts worker threads and rebuilds every tree: seconds idle, several times that on a
// loaded 2-core machine. One replay per test, each with a watchdog far above any load seen.
const REPLAY_TEST_MS = 600_000;

function replay(topic: string, rebuildWorkers: number, options: { archiveTrees?: boolean; maxTreesInMemory?: number } = {}): Promise<{ out: string; report: ReplayReport }> {
  const run = replayOnce(topic, rebuildWorkers, options);
  pending.add(run);
  void run.then(
    () => pending.delete(run),
    () => pending.delete(run),
  );
  return run;
}

/** The in-thread rebuild of a topic, computed once and compared against by several tests. */
const baselines = new Map<string, Promise<{ out: string; report: ReplayReport }>>();
const inThread = (topic: string, options: { archiveTrees?: boolean } = {}): Promise<{ out: string; report: ReplayReport }> => {
  const key = `${topic}:${String(options.archiveTrees)}`;
  let baseline = baselines.get(key);
  if (baseline === undefined) {
    baseline = replay(topic, 0, options);
    baselines.set(key, baseline);
  }
  return baseline;
};

async function replayOnce(topic: string, rebuildWorkers: number, options: { archiveTrees?: boolean; maxTreesInMemory?: number } = {}): Promise<{ out: string; report: ReplayReport }> {
  const out = join(root, `out-${(groups += 1)}`);
  const report = await replayTrees(
    topicSource({ topic, groupId: `g-${groups}` }, { transport }),
    {
      linearize: defaultLinearizeConfig,
      out,
      treesPerFile: 3,
      archiveTrees: options.archiveTrees ?? true,
      command: 'test',
      rebuildWorkers,
      ...(options.maxTreesInMemory === undefined ? {} : { maxTreesInMemory: options.maxTreesInMemory }),
    },
    { domainOf, encoder, clock: () => 1_700_000_000_000, logger: silentLogger, version: 'test' },
  );
  return { out, report };
}

/** What must not depend on where trees were rebuilt: the manifest (minus the group id), every file's bytes, the report's counts. */
async function fingerprint(r: { out: string; report: ReplayReport }): Promise<unknown> {
  const manifest = (await readReplayManifest(r.out))?.manifest;
  if (manifest === undefined) throw new Error(`no manifest in ${r.out}`);
  const { wall_ms: _w, read_ms: _r, write_wait_ms: _ww, trees_per_s: _t, mb_per_s: _m, out: _o, ...counts } = r.report;
  return {
    manifest: { ...manifest, lineage: { ...manifest.lineage, group_id: null } },
    hashes: await fileHashes(r.out, manifest.files.map((f) => f.path)),
    counts,
  };
}

describe('replay on rebuild workers', () => {
  it('rebuilds in-thread: bad records, duplicates and unknown domains are counted, traces written', async () => {
    const { report } = await inThread(TREES_TOPIC);
    expect(report).toMatchObject({ bad_records: 2, duplicate_trees: 2, failed_trees: 1 });
    expect(report.traces).toBeGreaterThan(4);
    expect(report.files).toBeGreaterThan(4);
  }, REPLAY_TEST_MS);

  it('writes the same files, manifest and counts on 1 worker as in-thread', async () => {
    expect(await fingerprint(await replay(TREES_TOPIC, 1))).toEqual(await fingerprint(await inThread(TREES_TOPIC)));
  }, REPLAY_TEST_MS);

  it('writes the same files, manifest and counts on 2 workers as in-thread', async () => {
    expect(await fingerprint(await replay(TREES_TOPIC, 2))).toEqual(await fingerprint(await inThread(TREES_TOPIC)));
  }, REPLAY_TEST_MS);

  it('writes the same files, manifest and counts when the sort spills to disk', async () => {
    expect(await fingerprint(await replay(TREES_TOPIC, 1, { maxTreesInMemory: 4 }))).toEqual(await fingerprint(await inThread(TREES_TOPIC)));
  }, REPLAY_TEST_MS);

  it('reuses or redoes recorded labels exactly as the in-thread rebuild does (verified-trees topic, no tree archive)', async () => {
    const baseline = await inThread(VERIFIED_TREES_TOPIC, { archiveTrees: false });
    expect(baseline.report.trees_reverified).toBe(Math.floor(trees.length / 2));
    expect(baseline.report.traces).toBeGreaterThan(0);
    expect(await fingerprint(await replay(VERIFIED_TREES_TOPIC, 1, { archiveTrees: false }))).toEqual(await fingerprint(baseline));
  }, REPLAY_TEST_MS);

  it('fails every waiting record once closed, and refuses new ones', async () => {
    const pool = RebuildPool.start({ workers: 1, encoding: 'tree', linearize: defaultLinearizeConfig, keepLabelled: false });
    const first = await pool.submit(SearchTreeCodec.encode(trees[0] as SearchTree));
    expect(first).toMatchObject({ ok: true, tree_id: trees[0]?.tree_id, fatal: null });
    const bad = await pool.submit(utf8.encode('[]'));
    expect(bad.ok).toBe(false);
    const expected = SearchTreeCodec.decode(utf8.encode('[]'));
    expect(bad).toEqual({ ok: false, reason: expected.ok ? 'accepted' : expected.error.message });
    const waiting = pool.submit(SearchTreeCodec.encode(trees[1] as SearchTree));
    await pool.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await expect(pool.submit(new Uint8Array(0))).rejects.toThrow(/closed/);
  }, REPLAY_TEST_MS);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREES_TOPIC } from '../../../schemas/searchTree.js';
import type { ReplayReport } from '../../../streams/replay/replayTrees.js';
import { readReplayManifest } from '../../../streams/replay/replayManifest.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { STAGE_GROUPS } from '../../../streams/stages/groups.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import { runCli } from '../../helpers/cli.js';
import { startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { quietPeriod } from '../../helpers/waitFor.js';
import { generateDataset, readRows } from '../replay/fixtures.js';

async function treeIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const t of readTreeArchive(dir)) ids.push(t.tree_id);
  return ids.sort();
}

describe('astro-stream replay --from-topic (real Kafka broker)', () => {
  const root = mkdtempSync(join(tmpdir(), 'astro-replay-kafka-'));
  let kafka: TestKafka;
  let boundary: number;
  let wave1: string[];
  let wave2: string[];
  const liveGroups = [STAGE_GROUPS.verify, STAGE_GROUPS.sinkTrees];
  let committedBefore: string;

  const committed = async (): Promise<string> => {
    const t = createKafkaTransport({ brokers: kafka.brokers, logLevel: 'error' });
    try {
      const out: Record<string, [number, number][]> = {};
      for (const g of liveGroups) out[g] = [...(await t.committedOffsets(g, TREES_TOPIC))].sort(([a], [b]) => a - b);
      return JSON.stringify(out);
    } finally {
      await t.close();
    }
  };

  beforeAll(async () => {
    kafka = await startTestKafka({ nodes: 1 });
    // Two waves of the live topology over the broker, separated in time by `boundary`.
    await generateDataset(join(root, 'wave1'), { seed: 7, brokers: kafka.brokers });
    await quietPeriod(50);
    boundary = Date.now();
    await quietPeriod(50);
    await generateDataset(join(root, 'wave2'), { seed: 8, brokers: kafka.brokers });
    wave1 = await treeIds(join(root, 'wave1'));
    wave2 = await treeIds(join(root, 'wave2'));
    committedBefore = await committed();
  }, 180_000);
  afterAll(async () => {
    await kafka?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const replay = async (name: string, args: readonly string[]): Promise<{ out: string; report: ReplayReport }> => {
    const out = join(root, name);
    const result = await runCli(['replay', '--from-topic', TREES_TOPIC, '--brokers', kafka.bootstrap, '--out', out, '--json', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return { out, report: JSON.parse(result.stdout) as ReplayReport };
  };

  it('a time range gives exactly the trees produced in it', async () => {
    expect(wave1.length).toBe(6);
    expect(wave2.length).toBe(6);
    expect(wave1.filter((id) => wave2.includes(id))).toEqual([]);

    const later = await replay('later', ['--from-time', String(boundary)]);
    expect(await treeIds(later.out)).toEqual(wave2);
    expect(later.report.policy_calls).toBe(0);

    const earlier = await replay('earlier', ['--to-time', new Date(boundary).toISOString()]);
    expect(await treeIds(earlier.out)).toEqual(wave1);

    const lineage = (await readReplayManifest(later.out))?.manifest;
    expect(lineage?.lineage).toMatchObject({ kind: 'topic', topic: TREES_TOPIC, from_time: boundary, to_time: null });
    expect(lineage?.lineage?.group_id).toMatch(/^astro\.replay\./);
    expect(lineage?.sources.reduce((n, s) => n + ((s.last_offset ?? 0) - (s.first_offset ?? 0) + 1), 0)).toBeGreaterThanOrEqual(wave2.length);
  }, 120_000);

  it('with the live run manifest as --config rebuilds exactly the rows it wrote, without moving live offsets', async () => {
    const sort = <T extends { trace_id: string }>(rows: T[]): T[] => [...rows].sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1));
    const first = await replay('wave1-again', ['--to-time', String(boundary), '--config', join(root, 'wave1', 'manifest.json')]);
    expect(sort(await readRows(first.out))).toEqual(sort(await readRows(join(root, 'wave1'))));
    const all = await replay('all', []);
    expect(all.report.trees_read).toBe(12);
    expect(await committed()).toBe(committedBefore);
  }, 120_000);
});

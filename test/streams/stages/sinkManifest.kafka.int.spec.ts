import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../operators/common/metrics.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { TraceCodec, TRACES_TOPIC, type Trace } from '../../../schemas/trace.js';
import { readDatasetTraces } from '../../../streams/replay/readTraceFiles.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { runCli, startCli, type CliProcess } from '../../helpers/cli.js';
import { startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

let kafka: TestKafka;
let transport: Transport;
let producer: Producer;
const root = mkdtempSync(join(tmpdir(), 'astro-sink-kill-'));
let traces: Trace[] = [];
let trees: SearchTree[] = [];

beforeAll(async () => {
  kafka = await startTestKafka({ nodes: 1 });
  transport = createKafkaTransport({ brokers: kafka.brokers, clientId: 'sink-kill-test', logger: silentLogger });
  await transport.createTopics(allTopicSpecs({ partitions: 4 }));
  producer = await transport.producer();
  // Real records: the traces and trees of a small embedded run.
  const ref = join(root, 'ref');
  const run = await runCli(['run', '--problems', '40', '--numbers', '3', '--iterations', '8', '--seed', '4', '--out', ref]);
  expect(run.code, run.stderr).toBe(0);
  for await (const { trace } of readDatasetTraces(ref)) traces.push(trace);
  for await (const tree of readTreeArchive(ref)) trees.push(tree as SearchTree);
  expect(traces.length).toBeGreaterThan(40);
}, 240_000);
afterAll(async () => {
  await producer?.close();
  await transport?.close();
  await kafka?.stop();
  rmSync(root, { recursive: true, force: true });
});

const shardPaths = (dir: string): string[] => ['traces', 'trees'].flatMap((sub) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).filter((n) => !n.startsWith('.')).map((n) => `${sub}/${n}`) : [])).sort();

async function send(part: { traces: Trace[]; trees: SearchTree[] }): Promise<void> {
  await producer.send(TRACES_TOPIC, part.traces.map((t) => ({ key: t.tree_id, value: TraceCodec.encode(t) })));
  await producer.send(TREES_TOPIC, part.trees.map((t) => ({ key: t.problem_id, value: SearchTreeCodec.encode(t) })));
}

async function distinctTraceIds(dir: string): Promise<{ rows: number; ids: number }> {
  const ids = new Set<string>();
  let rows = 0;
  for await (const { trace } of readDatasetTraces(dir)) {
    rows += 1;
    ids.add(trace.trace_id);
  }
  return { rows, ids: ids.size };
}

describe('stage sink SIGKILLed mid-stream', () => {
  it('the next sink lists the killed one\'s files from its start, removes its temp files at once, and the final manifest lists every file (no duplicates)', async () => {
    const out = join(root, 'live');
    const half = { traces: traces.slice(0, Math.floor(traces.length / 2)), trees: trees.slice(0, Math.floor(trees.length / 2)) };
    await send(half);
    let first: CliProcess | undefined = startCli(['stage', 'sink', '--brokers', kafka.bootstrap, '--out', out, '--status-every', '0']);
    let second: CliProcess | undefined;
    try {
      await waitFor(() => readdirSync(join(out, 'traces')).some((n) => n.endsWith('.parquet')) && existsSync(join(out, 'trees')) && readdirSync(join(out, 'trees')).some((n) => n.endsWith('.arrow')), {
        timeoutMs: 120_000,
        intervalMs: 50,
        message: 'the first sink\'s files',
      });
      await first.stop('SIGKILL');
      first = undefined;
      const left = shardPaths(out);
      expect(existsSync(join(out, 'manifest.json'))).toBe(false);
      // What a write interrupted by the kill leaves: a temp file named after its (now dead) writer.
      const temp = join(out, 'traces', `.astro.traces.v1-p0-000000000000-000000000009.parquet.${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-999999999.abc.tmp`);
      writeFileSync(temp, 'partial');

      second = startCli(['stage', 'sink', '--brokers', kafka.bootstrap, '--out', out, '--status-every', '0']);
      await waitFor(() => second?.output().includes('started;'), { timeoutMs: 120_000, message: 'the second sink started' });
      // Rebuilt at start: every file of the killed sink is listed before the new one writes anything.
      const atStart = await readManifest(out);
      expect(atStart.files.map((f) => f.path).filter((p) => left.includes(p)).sort()).toEqual(left);
      expect(await verifyManifestFiles(out, atStart)).toEqual([]);

      await send({ traces: traces.slice(half.traces.length), trees: trees.slice(half.trees.length) });
      await waitFor(async () => (await distinctTraceIds(out)).ids === traces.length, { timeoutMs: 180_000, intervalMs: 500, message: 'every trace on disk' });
      await waitFor(() => !existsSync(temp), { timeoutMs: 30_000, message: 'the dead writer\'s temp file removed' });
      const stopped = await second.stop('SIGTERM');
      second = undefined;
      expect(stopped.code).toBe(0);
    } finally {
      await first?.stop('SIGKILL');
      await second?.stop('SIGKILL');
    }

    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.files.map((f) => f.path).sort()).toEqual(shardPaths(out));
    // Records the killed sink had written but not committed were redone without duplicating rows.
    expect(await distinctTraceIds(out)).toEqual({ rows: traces.length, ids: traces.length });
    expect(manifest.files.filter((f) => f.kind === 'trees').reduce((n, f) => n + f.rows, 0)).toBe(trees.length);
    const inspect = await runCli(['dataset', 'inspect', out, '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ unlisted_files: [], manifest_mismatches: [], duplicate_ids: 0, rows: traces.length });
  }, 420_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterCodec } from '../../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC } from '../../../schemas/problem.js';
import { TREES_TOPIC } from '../../../schemas/searchTree.js';
import { dlqTopicOf } from '../../../schemas/deadLetter.js';
import { waitForDrain } from '../../../streams/stages/drain.js';
import { PIPELINE_EDGES } from '../../../streams/stages/topology.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { silentLogger } from '../../../operators/common/metrics.js';
import { runCli, startCli, type CliProcess } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { groupCoordinatorNode, startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

// 3-number problems and small budgets keep each search well under a second; the seed and budgets are the same for the
// embedded reference run and for every stage process.
const BUDGET = ['--iterations', '6', '--seed', '3'];
const PROBLEMS = '8';

const traceRows = (dir: string): Promise<Record<string, unknown>[]> =>
  duckdbRows(`SELECT trace_id, completion FROM read_parquet('${dir}/traces/*.parquet') ORDER BY trace_id`);

async function embeddedReference(dir: string): Promise<Record<string, unknown>[]> {
  const run = await runCli(['run', '--problems', PROBLEMS, '--numbers', '3', ...BUDGET, '--out', dir]);
  expect(run.code, run.stderr).toBe(0);
  return traceRows(dir);
}

/** Starts the four stages as separate processes against `brokers`. */
function startStages(brokers: string, out: string, options: { searchWorkers?: number } = {}): { search: CliProcess[]; others: CliProcess[] } {
  const search = Array.from({ length: options.searchWorkers ?? 1 }, () => startCli(['stage', 'search', '--brokers', brokers, ...BUDGET]));
  const others = [
    startCli(['stage', 'verify', '--brokers', brokers]),
    startCli(['stage', 'linearize', '--brokers', brokers, '--seed', '3']),
    startCli(['stage', 'sink', '--brokers', brokers, '--out', out]),
  ];
  return { search, others };
}

/** Stops every process with SIGTERM; returns a description of any that did not exit 0 (graceful shutdown). */
async function stopAll(processes: readonly CliProcess[]): Promise<string[]> {
  const results = await Promise.all(processes.map((p) => p.stop('SIGTERM')));
  return results.flatMap((r, i) => (r.code === 0 ? [] : [`exit ${r.code ?? r.signal}: ${processes[i]?.output() ?? ''}`]));
}

/** Runs `body` with the processes running, then stops them; a failure of `body` is not masked by the stop. */
async function withProcesses(processes: () => readonly CliProcess[], body: () => Promise<void>): Promise<void> {
  let failure: unknown;
  try {
    await body();
  } catch (error) {
    failure = error;
  }
  const bad = await stopAll(processes());
  if (failure !== undefined) throw new Error(`${String(failure)}\n--- process output (last lines) ---\n${processes().map((p) => tail(p.output())).join('\n---\n')}`, { cause: failure });
  expect(bad).toEqual([]);
}

/** The last lines of a process's output without stack frames: enough to see each stage's state when a CI log shows only its end. */
function tail(output: string, lines = 12): string {
  const kept = output.split('\n').filter((line) => !/^\s+at /.test(line)).map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
  return kept.slice(-lines).join('\n');
}

describe('stages as separate processes over a real Kafka broker', () => {
  let kafka: TestKafka;
  let transport: Transport;
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'astro-dist-'));
    dirs.push(d);
    return d;
  };
  let reference: Record<string, unknown>[];

  beforeAll(async () => {
    kafka = await startTestKafka({ nodes: 1 });
    transport = createKafkaTransport({ brokers: kafka.brokers, logger: silentLogger });
    reference = await embeddedReference(tmp());
    expect(reference.length).toBeGreaterThan(0);
  }, 240_000);

  afterAll(async () => {
    await transport?.close();
    await kafka?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('produces the same traces (same ids, same text) as the embedded run', async () => {
    const out = tmp();
    const { search, others } = startStages(kafka.bootstrap, out);
    await withProcesses(
      () => [...search, ...others],
      async () => {
        const source = await runCli(['source', 'countdown', '--problems', PROBLEMS, '--numbers', '3', '--seed', '3', '--brokers', kafka.bootstrap]);
        expect(source.code, source.stderr).toBe(0);
        expect(JSON.parse(source.stdout)).toMatchObject({ published: 8, dead_lettered: 0 });
        await waitForDrain(transport, PIPELINE_EDGES, { pollMs: 250, timeoutMs: 180_000 });
      },
    );
    expect(await traceRows(out)).toEqual(reference);
  }, 240_000);

  it('a search worker killed with SIGKILL mid-run and restarted: every expected trace exactly once', async () => {
    const out = tmp();
    // Fresh groups so this test starts from the beginning of the (shared) topics, like a new deployment.
    const group = `kill-${Date.now()}`;
    const searchArgs = ['stage', 'search', '--brokers', kafka.bootstrap, '--group', `${group}.search`, '--concurrency', '1', ...BUDGET];
    const workers = [startCli(searchArgs), startCli(searchArgs)];
    const others = [
      startCli(['stage', 'verify', '--brokers', kafka.bootstrap, '--group', `${group}.verify`, '--status-every', '1']),
      startCli(['stage', 'linearize', '--brokers', kafka.bootstrap, '--group', `${group}.linearize`, '--seed', '3']),
      startCli(['stage', 'sink', '--brokers', kafka.bootstrap, '--group', `${group}.sink`, '--out', out]),
    ];
    const edges = [
      { groupId: `${group}.search`, topic: PROBLEMS_TOPIC },
      { groupId: `${group}.verify`, topic: TREES_TOPIC },
      { groupId: `${group}.sink.trees`, topic: TREES_TOPIC },
      { groupId: `${group}.linearize`, topic: 'astro.trees.verified.v1' },
      { groupId: `${group}.sink.traces`, topic: 'astro.traces.v1' },
    ];
    await withProcesses(
      () => [...workers, ...others],
      async () => {
        const treesBefore = [...(await transport.endOffsets(TREES_TOPIC)).values()].reduce((a, b) => a + b, 0);
        // Republish the same problems: the new groups read the topic from the beginning anyway.
        const source = await runCli(['source', 'countdown', '--problems', PROBLEMS, '--numbers', '3', '--seed', '3', '--brokers', kafka.bootstrap]);
        expect(source.code, source.stderr).toBe(0);
        await waitFor(async () => [...(await transport.endOffsets(TREES_TOPIC)).values()].reduce((a, b) => a + b, 0) > treesBefore, { timeoutMs: 120_000 });
        const killed = await workers[0]?.stop('SIGKILL');
        expect(killed?.signal).toBe('SIGKILL');
        workers[0] = startCli(searchArgs);
        // The replacement must have joined before the drain check (and the SIGTERM after it) can mean anything.
        const replacement = workers[0];
        await waitFor(() => replacement.output().includes('started'), { timeoutMs: 120_000 });
        await waitForDrain(transport, edges, { pollMs: 250, timeoutMs: 180_000 });
        // The verify process reports its counts every second; once drained, nothing is in flight.
        const verify = others[0];
        await waitFor(() => /verify: [1-9]\d* received, [1-9]\d* done, 0 in flight, 0 dead-lettered/.test(verify?.output() ?? ''), { timeoutMs: 10_000 });
      },
    );
    const rows = await traceRows(out);
    const ids = rows.map((r) => r.trace_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(rows).toEqual(reference);
  }, 300_000);

  it('malformed and schema-invalid problems land in the DLQ with a reason; valid ones still produce traces', async () => {
    const out = tmp();
    const group = `dlq-${Date.now()}`;
    const producer = await transport.producer();
    const dlqBefore = [...(await transport.endOffsets(dlqTopicOf(PROBLEMS_TOPIC))).values()].reduce((a, b) => a + b, 0);
    await producer.send(PROBLEMS_TOPIC, [
      { key: 'garbage', value: new TextEncoder().encode('{"id": "x", oops') },
      { key: 'invalid', value: new TextEncoder().encode(JSON.stringify({ id: 'p-invalid', domain: 'countdown', source: 't', question: 'q', answer: 1 })) },
    ]);
    await producer.close();
    const stages = [
      startCli(['stage', 'search', '--brokers', kafka.bootstrap, '--group', `${group}.search`, ...BUDGET]),
      startCli(['stage', 'verify', '--brokers', kafka.bootstrap, '--group', `${group}.verify`]),
      startCli(['stage', 'linearize', '--brokers', kafka.bootstrap, '--group', `${group}.linearize`, '--seed', '3']),
      startCli(['stage', 'sink', '--brokers', kafka.bootstrap, '--group', `${group}.sink`, '--out', out]),
    ];
    await withProcesses(
      () => stages,
      () =>
        waitForDrain(
          transport,
          [
            { groupId: `${group}.search`, topic: PROBLEMS_TOPIC },
            { groupId: `${group}.verify`, topic: TREES_TOPIC },
            { groupId: `${group}.linearize`, topic: 'astro.trees.verified.v1' },
            { groupId: `${group}.sink.traces`, topic: 'astro.traces.v1' },
          ],
          { pollMs: 250, timeoutMs: 180_000 },
        ),
    );
    const consumer = await transport.consumer({ groupId: `${group}.dlq-reader`, topics: [dlqTopicOf(PROBLEMS_TOPIC)] });
    const letters: ReturnType<typeof DeadLetterCodec.decode>[] = [];
    const sub = consumer.records.subscribe((r) => letters.push(DeadLetterCodec.decode(r.value)));
    await waitFor(() => letters.length >= dlqBefore + 2, { timeoutMs: 60_000 });
    sub.unsubscribe();
    await consumer.close();
    const byKey = new Map(letters.flatMap((l) => (l.ok ? [[l.value.key, l.value] as const] : [])));
    expect(byKey.get('garbage')).toMatchObject({ error_kind: 'decode', stage: 'search', source_topic: PROBLEMS_TOPIC });
    expect(Buffer.from(byKey.get('garbage')?.value_base64 ?? '', 'base64').toString()).toBe('{"id": "x", oops');
    expect(byKey.get('invalid')?.reason).toMatch(/problem\.answer/);
    // Every valid problem on the topic (the earlier tests' too) still made it to traces.
    expect(await traceRows(out)).toEqual(reference);
  }, 300_000);
});

describe('the topology on a 3-broker cluster (replication factor 3, min ISR 2)', () => {
  let kafka: TestKafka;
  let transport: Transport;
  const dirs: string[] = [];

  beforeAll(async () => {
    kafka = await startTestKafka({ nodes: 3 });
    transport = createKafkaTransport({ brokers: kafka.brokers, logger: silentLogger });
  }, 240_000);

  afterAll(async () => {
    await transport?.close();
    await kafka?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('loses nothing and duplicates nothing when the group coordinator\'s broker is killed mid-run', async () => {
    const reference = mkdtempSync(join(tmpdir(), 'astro-3n-ref-'));
    const out = mkdtempSync(join(tmpdir(), 'astro-3n-'));
    dirs.push(reference, out);
    const expected = await embeddedReference(reference);
    const created = await runCli(['topics', 'create', '--brokers', kafka.bootstrap, '--replication-factor', '3']);
    expect(created.code, created.stderr).toBe(0);
    const { search, others } = startStages(kafka.bootstrap, out);
    await withProcesses(
      () => [...search, ...others],
      async () => {
        const source = await runCli(['source', 'countdown', '--problems', PROBLEMS, '--numbers', '3', '--seed', '3', '--brokers', kafka.bootstrap]);
        expect(source.code, source.stderr).toBe(0);
        await waitFor(async () => [...(await transport.endOffsets(TREES_TOPIC)).values()].reduce((a, b) => a + b, 0) > 0, { timeoutMs: 120_000 });
        // The coordinator's broker, not any broker: every stage's group then loses its coordinator
        // mid-session (commits in flight, heartbeats to a dead address), the failure that stalled
        // groups before; another broker only moves partition leaders.
        const coordinator = await groupCoordinatorNode(kafka);
        await kafka.cluster.stopNode(coordinator, 'SIGKILL');
        const killedAt = performance.now();
        await waitForDrain(transport, PIPELINE_EDGES, { pollMs: 500, timeoutMs: 240_000 });
        process.stderr.write(`[3-broker] topology drained ${((performance.now() - killedAt) / 1000).toFixed(1)} s after node ${coordinator} (group coordinator) was SIGKILLed\n`);
      },
    );
    const rows = await traceRows(out);
    expect(new Set(rows.map((r) => r.trace_id)).size).toBe(rows.length);
    expect(rows).toEqual(expected);
  }, 360_000);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../operators/common/metrics.js';
import { DeadLetterCodec, dlqTopicOf, type DeadLetter } from '../../../schemas/deadLetter.js';
import { ProblemCodec, type Problem } from '../../../schemas/problem.js';
import { MAX_DEAD_LETTER_ORIGINAL_BYTES } from '../../../schemas/topics.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { runCli } from '../../helpers/cli.js';
import { startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

let kafka: TestKafka;
let transport: Transport;
const root = mkdtempSync(join(tmpdir(), 'astro-source-kafka-'));
let groups = 0;

beforeAll(async () => {
  kafka = await startTestKafka({ nodes: 1 });
  transport = createKafkaTransport({ brokers: kafka.brokers, clientId: 'source-test', logger: silentLogger });
}, 180_000);
afterAll(async () => {
  await transport?.close();
  await kafka?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Every record of `topic`, read from the beginning by a fresh group until `count` have arrived. */
async function readTopic(topic: string, count: number): Promise<Uint8Array[]> {
  const consumer = await transport.consumer({ groupId: `reader-${(groups += 1)}`, topics: [topic], fromBeginning: true });
  const values: Uint8Array[] = [];
  const sub = consumer.records.subscribe((r) => values.push(r.value));
  try {
    await waitFor(() => values.length >= count, { timeoutMs: 120_000, intervalMs: 100, message: `${count} records of ${topic} (have ${values.length})` });
  } finally {
    sub.unsubscribe();
    await consumer.close();
  }
  return values;
}

const letters = async (topic: string, count: number): Promise<DeadLetter[]> =>
  (await readTopic(dlqTopicOf(topic), count)).map((v) => {
    const d = DeadLetterCodec.decode(v);
    if (!d.ok) throw d.error;
    return d.value;
  });

const row = (q: string, a: string, n: number): string => JSON.stringify({ q, a, n });

describe('source jsonl over Kafka with rows no topic takes', () => {
  it('publishes every good row and dead-letters the rest with their original bytes, the 50 MB line included (exit 3)', async () => {
    const topic = 'astro.problems.edge.v1';
    const file = join(root, 'rows.jsonl');
    // A 50 MB line that is not JSON (cut short), a valid row whose problem is over the topic's
    // 16 MiB, a line that is not UTF-8, an id reused with other content, an exact repeat.
    const fifty = `{"q": "${'x'.repeat(50 * 1024 * 1024)}`;
    const twenty = row(`What is ${'1+'.repeat(10_000_000)}1?`, '10000001', 50);
    const binary = Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0xff, 0x00, 0x7d]);
    const good = [row('What is 2+3?', '5', 1), row('What is 4+4?', '8', 2), row('What is 6+1?', '7', 3)];
    writeFileSync(
      file,
      Buffer.concat([Buffer.from([good[0], fifty, good[1], twenty, ''].join('\n')), binary, Buffer.from(['', row('What is 9-9?', '0', 2), good[0], good[2]].join('\n'))]),
    );
    const result = await runCli(['source', 'jsonl', '--file', file, '--question', 'q', '--answer', 'a', '--id', 'n', '--source-name', 'edge', '--topic', topic, '--brokers', kafka.bootstrap], { timeoutMs: 300_000 });
    expect(result.code, result.stderr).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({ topic, published: 3, dead_lettered: 4, duplicate_rows: 1 });

    const problems = (await readTopic(topic, 3)).map((v) => {
      const p = ProblemCodec.decode(v);
      if (!p.ok) throw p.error;
      return p.value;
    });
    expect(problems.map((p: Problem) => p.question).sort()).toEqual(['What is 2+3?', 'What is 4+4?', 'What is 6+1?']);
    expect(new Set(problems.map((p) => p.source))).toEqual(new Set(['edge']));

    const dead = await letters(topic, 4);
    const byLine = new Map(dead.map((d) => [d.source_offset, d]));
    const fiftyLetter = byLine.get(2);
    expect(fiftyLetter).toMatchObject({ error_kind: 'decode', stage: 'source', source_topic: topic, value_bytes: Buffer.byteLength(fifty), value_truncated: true });
    const kept = Buffer.from(fiftyLetter?.value_base64 ?? '', 'base64');
    expect(kept.byteLength).toBe(MAX_DEAD_LETTER_ORIGINAL_BYTES);
    expect(kept.equals(Buffer.from(fifty).subarray(0, MAX_DEAD_LETTER_ORIGINAL_BYTES))).toBe(true);
    const twentyLetter = byLine.get(4);
    expect(twentyLetter).toMatchObject({ error_kind: 'too_large', value_bytes: Buffer.byteLength(twenty) });
    expect(twentyLetter?.value_truncated).toBeUndefined();
    expect(Buffer.from(twentyLetter?.value_base64 ?? '', 'base64').toString()).toBe(twenty);
    // Binary comes back byte for byte (no U+FFFD).
    expect(Buffer.from(byLine.get(5)?.value_base64 ?? '', 'base64').equals(binary)).toBe(true);
    expect(byLine.get(5)?.reason).toMatch(/line 5: not valid UTF-8/);
    expect(byLine.get(6)).toMatchObject({ error_kind: 'duplicate' });
    expect(Buffer.from(byLine.get(6)?.value_base64 ?? '', 'base64').toString()).toBe(row('What is 9-9?', '0', 2));
  }, 400_000);
});

describe('source parquet over Kafka with an ordinary file', () => {
  it('publishes rows with INT64, timestamp, binary and nested columns (JSON-safe), and dead-letters the bad row alone', async () => {
    const topic = 'astro.problems.pq.v1';
    const file = join(root, 'ordinary.parquet');
    const script = `
import sys, datetime, pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({
  'idx': pa.array([1, 2, 3], pa.int64()),
  'question': ['What is 2+2?', None, 'What is 4+4?'],
  'answer': pa.array([4, 6, 8], pa.int64()),
  'created': pa.array([datetime.datetime(2024, 1, 1)] * 3, pa.timestamp('ms')),
  'blob': pa.array([b'\\xff', b'a', b'b'], pa.binary()),
  'tags': pa.array([['x'], [], None], pa.list_(pa.string())),
}), sys.argv[1])`;
    execFileSync('python3', ['-c', script, file]);
    const result = await runCli(['source', 'parquet', '--file', file, '--question', 'question', '--answer', 'answer', '--id', 'idx', '--topic', topic, '--brokers', kafka.bootstrap], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ published: 2, dead_lettered: 1 });
    expect(result.stderr).not.toMatch(/BigInt|TypeError/);
    const problems = (await readTopic(topic, 2)).map((v) => ProblemCodec.decode(v)).flatMap((p) => (p.ok ? [p.value] : []));
    expect(problems.map((p) => p.answer).sort()).toEqual(['4', '8']);
    const [letter] = await letters(topic, 1);
    expect(letter).toMatchObject({ error_kind: 'schema', source_offset: 2 });
    expect(JSON.parse(Buffer.from(letter?.value_base64 ?? '', 'base64').toString())).toEqual({ idx: 2, question: null, answer: 6, created: '2024-01-01T00:00:00.000Z', blob: 'a', tags: [] });
  }, 200_000);
});

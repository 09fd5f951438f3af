import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../operators/common/hash.js';
import type { Trace } from '../../../schemas/trace.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../../../streams/sinks/traceParquetSink.js';
import { TRACE_PARQUET_TABLE } from '../../../streams/sinks/traceParquetSchema.js';
import { makeTraces } from './traceFixtures.js';

let dir: string;
let encoder: ParquetEncoder;
let db: DuckDBInstance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-sink-'));
  encoder = ParquetEncoder.create({ workers: 1, rowGroupRows: 64 });
  db = await DuckDBInstance.create(':memory:');
});
afterAll(async () => {
  await encoder.close();
  db.closeSync();
  await rm(dir, { recursive: true, force: true });
});

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

const sortById = (rows: readonly Trace[]): Trace[] => [...rows].sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1));

describe('trace Parquet sink', () => {
  const traces = makeTraces(150, { seed: 11 });
  const position = { topic: 'astro.traces.v1', partition: 0, firstOffset: 0, lastOffset: 149 };

  it('writes a shard named by its offset range, with size and checksum of the file', async () => {
    const sink = createTraceParquetSink({ dir, encoder });
    const shard = await sink.writeShard(traces, position);
    expect(shard).toMatchObject({
      kind: 'traces',
      path: 'traces/astro.traces.v1-p0-000000000000-000000000149.parquet',
      rows: 150,
      topic: 'astro.traces.v1',
      partition: 0,
      first_offset: 0,
      last_offset: 149,
      sequence: null,
    });
    const bytes = await readFile(join(dir, shard.path));
    expect(shard.bytes).toBe(bytes.byteLength);
    expect(shard.sha256).toBe(sha256Hex(bytes));
    // Several row groups (rowGroupRows 64), so readers must stitch them.
    expect(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).row_groups).toHaveLength(3);
  });

  it('is read by DuckDB with the contract types and equal values', async () => {
    const file = join(dir, 'traces/astro.traces.v1-p0-000000000000-000000000149.parquet');
    const types = Object.fromEntries((await duck(`DESCRIBE SELECT * FROM '${file}'`)).map((r) => [r['column_name'], r['column_type']]));
    expect(Object.keys(types)).toEqual(TRACE_PARQUET_TABLE.columns);
    expect(types).toMatchObject({
      trace_id: 'VARCHAR',
      completion: 'VARCHAR',
      messages: 'STRUCT("role" VARCHAR, "content" VARCHAR)[]',
      answer: 'VARCHAR',
      correct: 'BOOLEAN',
      k: 'INTEGER',
      num_backtracks: 'INTEGER',
      num_reflections: 'INTEGER',
      node_path: 'INTEGER[]',
      created_at: 'TIMESTAMP',
    });
    const rows = await duck(`SELECT * EXCLUDE (created_at), epoch_ms(created_at) AS created_at FROM '${file}' ORDER BY trace_id`);
    expect(rows.map((r) => ({ ...r, created_at: Number(r['created_at']) }))).toEqual(sortById(traces));
  });

  it('is read by pyarrow with the contract schema', () => {
    const file = join(dir, 'traces/astro.traces.v1-p0-000000000000-000000000149.parquet');
    const script = [
      'import json, sys, pyarrow.parquet as pq',
      't = pq.read_table(sys.argv[1])',
      'row = t.slice(7, 1).to_pylist()[0]',
      "print(json.dumps({'types': {f.name: str(f.type) for f in t.schema}, 'rows': t.num_rows,",
      "  'completion': row['completion'], 'messages': row['messages'], 'node_path': row['node_path'],",
      "  'created_ms': int(row['created_at'].timestamp() * 1000), 'tz': str(row['created_at'].tzinfo)}))",
    ].join('\n');
    const out = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(out['rows']).toBe(150);
    expect(out['types']).toMatchObject({
      messages: 'list<element: struct<role: string, content: string>>',
      node_path: 'list<element: int32>',
      k: 'int32',
      correct: 'bool',
      created_at: 'timestamp[ms, tz=UTC]',
      completion: 'string',
    });
    const expected = traces[7] as Trace;
    expect(out).toMatchObject({ completion: expected.completion, messages: expected.messages, node_path: expected.node_path, created_ms: expected.created_at, tz: 'UTC' });
  });

  it('is read by hyparquet with equal values', async () => {
    const bytes = await readFile(join(dir, 'traces/astro.traces.v1-p0-000000000000-000000000149.parquet'));
    const rows = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as Record<string, unknown>[];
    expect(rows.map((r) => ({ ...r, created_at: (r['created_at'] as Date).getTime() }))).toEqual(traces);
  });

  it('keeps text that needs escaping or multi-byte UTF-8 intact', async () => {
    const [base] = makeTraces(1, { seed: 3 });
    const odd: Trace = { ...(base as Trace), trace_id: 'odd', completion: 'a\u0000b "quoted" \\boxed{\\frac{1}{2}} 🧮 数学 \r\n end', answer: '\\frac{1}{2}', messages: [], node_path: [] };
    const shard = await createTraceParquetSink({ dir, encoder }).writeBatch([odd], 900);
    const [row] = await duck(`SELECT completion, answer, len(messages) AS m, len(node_path) AS n FROM '${join(dir, shard.path)}'`);
    expect(row).toEqual({ completion: odd.completion, answer: odd.answer, m: '0', n: '0' });
  });

  it('writes embedded-run batches by sequence number, and empty batches as valid files', async () => {
    const sink = createTraceParquetSink({ dir, encoder });
    const shard = await sink.writeBatch(traces.slice(0, 10), 3);
    expect(shard).toMatchObject({ path: 'traces/traces-000000000003.parquet', rows: 10, topic: null, partition: null, first_offset: null, sequence: 3 });
    const empty = await sink.writeBatch([], 4);
    const [count] = await duck(`SELECT count(*) AS n FROM '${join(dir, empty.path)}'`);
    expect(count).toEqual({ n: '0' });
    const [all] = await duck(`SELECT count(*) AS n, count(DISTINCT trace_id) AS d FROM '${join(dir, 'traces/traces-00000000000[34].parquet')}'`);
    expect(all).toEqual({ n: '10', d: '10' });
  });

  it('rewrites the same shard to the same name with the same bytes (idempotent redo), leaving no temp files', async () => {
    const sink = createTraceParquetSink({ dir, encoder });
    const redo = await sink.writeShard(traces, position);
    const redoAgain = await sink.writeShard(traces, position);
    expect(redoAgain).toEqual(redo);
    const names = await readdir(join(dir, 'traces'));
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(names.filter((n) => n.startsWith('astro.traces.v1-p0-'))).toEqual(['astro.traces.v1-p0-000000000000-000000000149.parquet']);
  });

  it('writes GZIP files that DuckDB and pyarrow read', async () => {
    const gzip = ParquetEncoder.create({ codec: 'GZIP' });
    try {
      const shard = await createTraceParquetSink({ dir: join(dir, 'gz'), encoder: gzip }).writeShard(traces.slice(0, 20), { ...position, lastOffset: 19 });
      const file = join(dir, 'gz', shard.path);
      const [row] = await duck(`SELECT count(*) AS n, sum(k) AS k FROM '${file}'`);
      expect(row).toEqual({ n: '20', k: String(traces.slice(0, 20).reduce((s, t) => s + t.k, 0)) });
      const codec = execFileSync('python3', ['-c', 'import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).metadata.row_group(0).column(0).compression)', file], { encoding: 'utf8' });
      expect(codec.trim()).toBe('GZIP');
    } finally {
      await gzip.close();
    }
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import type { SchemaElement } from 'hyparquet';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { createCompressors, encodeChunkPages, fileWriterFor, writeColumnarParquet } from '../../../streams/sinks/columnarParquetWriter.js';
import { planTable, RowPacker } from '../../../streams/sinks/parquetWire.js';
import type { ParquetTableSpec } from '../../../streams/sinks/traceParquetSchema.js';

// Every shape the packer handles, with nulls at each level, next to a column hyparquet-writer encodes.
const utf8 = (name: string, repetition_type: 'OPTIONAL' | 'REQUIRED' = 'OPTIONAL'): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type });
const SPEC: ParquetTableSpec = {
  schema: [
    { name: 'root', num_children: 6 },
    utf8('id', 'REQUIRED'),
    utf8('text'),
    { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    utf8('element'),
    { name: 'messages', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    utf8('role', 'REQUIRED'),
    utf8('content'),
    { name: 'path', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'INT32', repetition_type: 'OPTIONAL' },
    { name: 'n', type: 'INT32', repetition_type: 'OPTIONAL' },
  ],
  columns: ['id', 'text', 'tags', 'messages', 'path', 'n'],
  columnOptions: {
    id: { encoding: 'PLAIN', statistics: false },
    text: { encoding: 'PLAIN', statistics: false },
    tags: { encoding: 'PLAIN', statistics: false },
    messages: { encoding: 'PLAIN', statistics: false },
    path: { encoding: 'PLAIN', statistics: false },
  },
};

interface Row {
  id: string;
  text: string | null;
  tags: (string | null)[] | null;
  messages: ({ role: string; content: string | null } | null)[] | null;
  path: (number | null)[] | null;
  n: number | null;
}

// Multi-byte text of every width: 2-byte (é), 3-byte (CJK, ≠), 4-byte (emoji, surrogate pairs).
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', 'é', '≠ × −', '漢字かな', '🧮🔢', 'a\u0000b'),
);
const row = fc.record<Row>({
  id: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  text: fc.option(text),
  tags: fc.option(fc.array(fc.option(text), { maxLength: 4 })),
  messages: fc.option(fc.array(fc.option(fc.record({ role: fc.constantFrom('user', 'assistant'), content: fc.option(text) })), { maxLength: 3 })),
  path: fc.option(fc.array(fc.option(fc.integer({ min: -0x80000000, max: 0x7fffffff })), { maxLength: 5 })),
  n: fc.option(fc.integer({ min: -5, max: 5 })),
});

/** What the encoder does on the calling thread (RowPacker) and on the worker (writeColumnarParquet), in one thread. */
function encode(rows: readonly Row[], chunkRows: number, rowGroupRows: number, spec: ParquetTableSpec = SPEC): Uint8Array {
  const plan = planTable(spec);
  const packer = new RowPacker(plan);
  const compressors = createCompressors();
  const chunks = [];
  for (let start = 0; start < rows.length || start === 0; ) {
    const end = Math.min(start + chunkRows, rows.length, (Math.floor(start / rowGroupRows) + 1) * rowGroupRows);
    const chunk = { rows: end - start, columns: packer.pack(rows, start, end).columns };
    encodeChunkPages(plan, chunk, 'SNAPPY', compressors);
    chunks.push(chunk);
    if (end >= rows.length) break;
    start = end;
  }
  const writer = fileWriterFor(chunks);
  writeColumnarParquet({
    writer,
    schema: [...spec.schema],
    plan,
    columnOptions: spec.columnOptions ?? {},
    chunks,
    rowGroupRows,
    codec: 'SNAPPY',
    compressors,
    kvMetadata: [{ key: 'k', value: 'v' }],
    createdBy: 'test',
  });
  return new Uint8Array(writer.getBuffer());
}

async function decode(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  return (await parquetReadObjects({ file: bytes.slice().buffer })) as Record<string, unknown>[];
}

/** The same rows written by hyparquet-writer's general path: the oracle for what readers get back. */
function encodeReference(rows: readonly Row[]): Uint8Array {
  const writer = new ByteWriter();
  const columnData = SPEC.columns.map((name) => ({ name, data: rows.map((r) => r[name as keyof Row]) }));
  parquetWrite({ writer, schema: [...SPEC.schema], columnData: columnData as never });
  return new Uint8Array(writer.getBuffer());
}

// hyparquet's reader gives `undefined` or `null` for a null list or element depending on whether
// the column has statistics (pyarrow reads both files the same); the rows hold `null`.
const nullish = (v: unknown): unknown =>
  v === undefined || v === null ? null : Array.isArray(v) ? v.map(nullish) : typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nullish(x)])) : v;

let dir: string;
let db: DuckDBInstance;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-columnar-'));
  db = await DuckDBInstance.create(':memory:');
});
afterAll(async () => {
  db.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('packed columnar Parquet writer', () => {
  it('plans PLAIN, statistics-free string and INT32 columns (flat, lists, lists of structs) onto the fast path', () => {
    expect(planTable(SPEC).map((c) => [c.name, c.fast])).toEqual([
      ['id', true],
      ['text', true],
      ['tags', true],
      ['messages', true],
      ['path', true],
      ['n', false],
    ]);
    const messages = planTable(SPEC)[3];
    expect(messages?.fast && messages.leaves.map((l) => [l.path.join('.'), l.maxDef, l.maxRep])).toEqual([
      ['messages.list.element.role', 3, 1],
      ['messages.list.element.content', 4, 1],
    ]);
  });

  it('round-trips random rows with nulls at every level, any chunking and row groups', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 60 }), fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 40 }), async (rows, chunkRows, rowGroupRows) => {
        const bytes = encode(rows, chunkRows, rowGroupRows);
        const decoded = await decode(bytes);
        expect(nullish(decoded)).toEqual(rows);
        expect(nullish(decoded)).toEqual(nullish(await decode(encodeReference(rows))));
        const meta = parquetMetadata(bytes.slice().buffer);
        expect(Number(meta.num_rows)).toBe(rows.length);
        expect(meta.row_groups.length).toBe(Math.ceil(rows.length / rowGroupRows));
      }),
      { numRuns: 150 },
    );
  });

  it('splits long text into ~1 MB pages at row starts, with an offset index, and readers agree', async () => {
    // ~6 MB of text per column in 3 chunks: several pages per chunk, plus values longer than a page.
    const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({
      id: `r${i}`,
      text: i % 50 === 7 ? 'Ω'.repeat(1_300_000) : `Step ${i}: ${'≠ 75 × 2 = 150. '.repeat(1 + (i % 900))}`,
      tags: i % 3 === 0 ? [] : ['a', `${i}`],
      messages: [
        { role: 'user', content: `prompt ${i}` },
        { role: 'assistant', content: i % 4 === 0 ? null : 'x'.repeat(20_000) },
      ],
      path: [i, i === 0 ? 0 : -i, 0x7fffffff],
      n: i,
    }));
    const bytes = encode(rows, 100, 10_000);
    const meta = parquetMetadata(bytes.slice().buffer);
    const text = meta.row_groups[0]?.columns[1];
    expect(text?.meta_data?.path_in_schema).toEqual(['text']);
    expect(text?.offset_index_offset).toBeDefined();
    // Snappy must have done something with the repetitive text.
    expect(Number(text?.meta_data?.total_compressed_size)).toBeLessThan(Number(text?.meta_data?.total_uncompressed_size) / 3);
    expect(await decode(bytes)).toEqual(rows);

    const file = join(dir, 'long.parquet');
    await writeFile(file, bytes);
    const connection = await db.connect();
    try {
      const result = (await connection.runAndReadAll(
        `SELECT count(*) AS n, sum(length(text)) AS chars, sum(len(messages)) AS messages, count(messages[2].content) AS contents, sum(path[3]) AS p FROM '${file}'`,
      )).getRowObjectsJson();
      const chars = rows.reduce((s, r) => s + (r.text?.length ?? 0), 0);
      expect(result[0]).toEqual({ n: '300', chars: String(chars), messages: '600', contents: '225', p: String(300 * 0x7fffffff) });
    } finally {
      connection.closeSync();
    }
    const py = execFileSync('python3', ['-c', `import pyarrow.parquet as pq; t = pq.read_table('${file}'); print(t.num_rows, sum(len(s) for s in t.column('text').to_pylist()), t.schema.field('messages').type)`], { encoding: 'utf8' });
    expect(py.trim()).toBe(`300 ${rows.reduce((s, r) => s + (r.text?.length ?? 0), 0)} list<element: struct<role: string not null, content: string>>`);
  });

  it('writes every copy of a long string that repeats across columns, list elements and rows of a chunk', async () => {
    // Long strings are UTF-8 encoded once per chunk and copied where they repeat (a trace's
    // completion is also its assistant message): around the length threshold, multi-byte, equal
    // but separately built, and growing the buffer that holds the first copy.
    const base = ['≠ × − 🧮 '.repeat(40), 'a'.repeat(255), 'b'.repeat(256), 'é'.repeat(300), 'x'.repeat(70_000)];
    const pool = fc.constantFrom(...base, ...base.map((t) => [...t].reverse().reverse().join('')));
    const longRow = fc.record<Row>({
      id: fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
      text: fc.option(pool),
      tags: fc.option(fc.array(fc.option(pool), { maxLength: 3 })),
      messages: fc.option(fc.array(fc.option(fc.record({ role: fc.constantFrom('user', 'assistant'), content: fc.option(pool) })), { maxLength: 3 })),
      path: fc.constant(null),
      n: fc.constant(null),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(longRow, { maxLength: 20 }), fc.integer({ min: 1, max: 8 }), async (rows, chunkRows) => {
        const decoded = await decode(encode(rows, chunkRows, 100));
        expect(nullish(decoded)).toEqual(rows);
      }),
      { numRuns: 60 },
    );
  });

  it('is read back exactly by pyarrow, nulls at every level included', async () => {
    const rows = fc.sample(row, { numRuns: 300, seed: 7 });
    const file = join(dir, 'random.parquet');
    await writeFile(file, encode(rows, 37, 100));
    const script = `import json, pyarrow.parquet as pq; print(json.dumps(pq.read_table('${file}').to_pylist(), ensure_ascii=False))`;
    expect(JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 }))).toEqual(rows);
  });

  it('writes an empty file with no row groups', async () => {
    const bytes = encode([], 10, 10);
    expect(parquetMetadata(bytes.slice().buffer).row_groups).toEqual([]);
    expect(await decode(bytes)).toEqual([]);
  });

  it('rejects values the schema cannot hold as non-retriable sink errors', () => {
    const good: Row = { id: 'a', text: null, tags: null, messages: null, path: null, n: null };
    const bad: unknown[] = [
      { ...good, id: null }, // required column
      { ...good, text: 42 }, // not a string
      { ...good, tags: 'x' }, // not a list
      { ...good, messages: [{ role: null, content: 'c' }] }, // required field
      { ...good, path: [1.5] }, // not an INT32
      { ...good, path: [2 ** 31] },
    ];
    for (const value of bad) {
      let error: unknown;
      try {
        new RowPacker(planTable(SPEC)).pack([value as object], 0, 1);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(value)).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ kind: 'sink', retriable: false });
    }
  });
});

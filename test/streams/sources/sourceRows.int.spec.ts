import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { Problem } from '../../../schemas/problem.js';
import { assertReadableFile, createProblemAdmission, generatedRows, mappingFor, readJsonlRows, readParquetRows, type SourceItem } from '../../../streams/sources/index.js';

const root = mkdtempSync(join(tmpdir(), 'astro-source-rows-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mapping = { source: 'tiny', question: 'question', answer: 'answer' } as const;

async function collect(items: AsyncIterable<SourceItem> | Iterable<SourceItem>): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const line = (question: string, answer: string): string => JSON.stringify({ question, answer });

describe('readJsonlRows', () => {
  it('keeps going past an oversized line, holding only its first bytes, and names its size', async () => {
    const file = join(root, 'big.jsonl');
    const big = line('x'.repeat(5000), '1');
    writeFileSync(file, [line('What is 1+1?', '2'), big, line('What is 2+2?', '4')].join('\n'));
    const items = await collect(readJsonlRows(file, mapping, { maxLineBytes: 1000, keepBytes: 300 }));
    expect(items.map((i) => i.result.ok)).toEqual([true, false, true]);
    const bad = items[1] as SourceItem;
    expect(bad.result.ok === false && bad.result.error).toMatchObject({ kind: 'too_large' });
    expect(bad.result.ok === false && bad.result.error.message).toMatch(/big\.jsonl line 2: 5\d{3} bytes, over the 1000 bytes a line may have/);
    expect(bad.row.size).toBe(Buffer.byteLength(big));
    expect(Buffer.from(bad.row.bytes).equals(Buffer.from(big).subarray(0, 300))).toBe(true);
  });

  it('keeps the original bytes of a line that is not UTF-8 or not JSON, and counts blank lines in line numbers', async () => {
    const file = join(root, 'binary.jsonl');
    const binary = Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xfe, 0x22, 0x7d]);
    writeFileSync(file, Buffer.concat([Buffer.from('\ufeff' + line('What is 1+1?', '2') + '\r\n\n'), binary, Buffer.from('\n{not json\n' + line('What is 3+3?', '6'))]));
    const items = await collect(readJsonlRows(file, mapping));
    expect(items.map((i) => [i.row.index, i.result.ok])).toEqual([[1, true], [3, false], [4, false], [5, true]]);
    const [, notUtf8, notJson] = items as [SourceItem, SourceItem, SourceItem, SourceItem];
    expect(Buffer.from(notUtf8.row.bytes).equals(binary)).toBe(true);
    expect(notUtf8.result.ok === false && notUtf8.result.error.message).toMatch(/line 3: not valid UTF-8/);
    expect(notJson.result.ok === false && notJson.result.error).toMatchObject({ kind: 'decode' });
    expect(Buffer.from(notJson.row.bytes).toString()).toBe('{not json');
  });

  it('says a missing file is missing (a config error), not that its fields are unknown', async () => {
    await expect(assertReadableFile(join(root, 'missing.jsonl'))).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/missing\.jsonl does not exist/) });
    await expect(collect(readJsonlRows(join(root, 'missing.jsonl'), mapping))).rejects.toBeInstanceOf(AppError);
    await expect(assertReadableFile(root)).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/is a directory/) });
  });
});

describe('readParquetRows on ordinary Parquet files (written by pyarrow)', () => {
  it('maps INT64, timestamps, dates, binary, lists, structs and decimals to JSON values', async () => {
    const file = join(root, 'ordinary.parquet');
    const script = `
import sys, datetime, decimal, pyarrow as pa, pyarrow.parquet as pq
t = pa.table({
  'idx': pa.array([1, 9007199254740993], pa.int64()),
  'question': ['What is 2+2?', 'What is 4+4?'],
  'answer': pa.array([4, 8], pa.int64()),
  'level': pa.array([1, 3], pa.int64()),
  'created': pa.array([datetime.datetime(2024, 1, 1, 12)] * 2, pa.timestamp('us')),
  'blob': pa.array([b'\\x00\\xff', b'abc'], pa.binary()),
  'tags': pa.array([['a', 'b'], None], pa.list_(pa.string())),
  'info': pa.array([{'k': 1}, None], pa.struct([('k', pa.int64())])),
  'price': pa.array([decimal.Decimal('1.25'), None], pa.decimal128(10, 2)),
})
pq.write_table(t, sys.argv[1])`;
    execFileSync('python3', ['-c', script, file]);
    const items = await collect(readParquetRows(file, { source: 'ord', question: 'question', answer: 'answer', id: 'idx', difficulty: 'level', meta: ['created', 'blob', 'tags', 'info', 'price', 'idx'] }));
    expect(items.map((i) => i.result.ok)).toEqual([true, true]);
    const [a, b] = items.map((i) => (i.result.ok ? i.result.value : undefined)) as [Problem, Problem];
    expect(Problem.parse(a)).toEqual(a);
    expect(a).toMatchObject({ answer: '4', difficulty: 1 });
    expect(JSON.parse(a.meta_json ?? '{}')).toEqual({ created: '2024-01-01T12:00:00.000Z', blob: Buffer.from([0, 255]).toString('base64'), tags: ['a', 'b'], info: { k: 1 }, price: 1.25, idx: 1 });
    // Beyond 2^53 an INT64 stays exact, as a decimal string.
    expect(JSON.parse(b.meta_json ?? '{}')).toMatchObject({ idx: '9007199254740993', blob: 'abc', tags: null, info: null, price: null });
    // The row's bytes (what a dead letter would carry) are the row as JSON.
    expect(JSON.parse(Buffer.from(items[1]?.row.bytes ?? []).toString())).toMatchObject({ idx: '9007199254740993', question: 'What is 4+4?' });
  }, 120_000);

  it('turns a row that cannot be decoded into a failure of that row only', async () => {
    const file = join(root, 'corrupt.parquet');
    // One row per row group; the second row group's question chunk is overwritten with garbage.
    const script = `
import sys, pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({'question': ['What is 2+2?', 'What is 3+3?', 'What is 4+4?'], 'answer': pa.array([4, 6, 8], pa.int64())}), sys.argv[1], row_group_size=1)
col = pq.ParquetFile(sys.argv[1]).metadata.row_group(1).column(0)
start = col.dictionary_page_offset or col.data_page_offset
data = bytearray(open(sys.argv[1], 'rb').read())
data[start:start + col.total_compressed_size] = b'\\xff' * col.total_compressed_size
open(sys.argv[1], 'wb').write(data)`;
    execFileSync('python3', ['-c', script, file]);
    const items = await collect(readParquetRows(file, mapping));
    expect(items.map((i) => i.result.ok)).toEqual([true, false, true]);
    expect(items[1]?.result.ok === false && items[1].result.error).toMatchObject({ kind: 'decode', message: expect.stringMatching(/corrupt\.parquet row 2: cannot decode/) });
  }, 120_000);

  it('rejects a file that is not Parquet as a config error naming it', async () => {
    const file = join(root, 'not.parquet');
    writeFileSync(file, 'hello, not parquet');
    await expect(collect(readParquetRows(file, mapping))).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/not\.parquet: not a readable Parquet file/) });
  });
});

describe('the problem admission gate', () => {
  const item = (index: number, question: string, answer: string): SourceItem => {
    const bytes = Buffer.from(line(question, answer));
    return { row: { where: `f line ${index}`, index, bytes, size: bytes.byteLength }, result: { ok: true, value: Problem.parse({ id: `p-${question.length}`, domain: 'math', source: 'f', question, answer }) } };
  };

  it('publishes good rows, skips exact repeats, dead-letters conflicting ids and oversized problems with their original bytes', () => {
    const admission = createProblemAdmission({ topic: 'astro.problems.v1', maxRecordBytes: 1024 + 400 }, { clock: () => 42 });
    const first = item(1, 'What is 1+1?', '2');
    const conflict = item(3, 'What is 9+9?', '18');
    const big = item(4, 'q'.repeat(600), '1');
    const results = [first, item(2, 'What is 1+1?', '2'), conflict, big].map((i) => admission.admit(i));
    expect(results.map((r) => r.kind)).toEqual(['problem', 'duplicate', 'dead', 'dead']);
    const [, , c, b] = results;
    expect(c?.kind === 'dead' && c.letter).toMatchObject({ error_kind: 'duplicate', stage: 'source', source_offset: 3, failed_at: 42, value_base64: Buffer.from(conflict.row.bytes).toString('base64') });
    expect(c?.kind === 'dead' && c.letter.reason).toMatch(/f line 3: problem id p-12 was already read from row\/line 1 with different content/);
    expect(b?.kind === 'dead' && b.letter).toMatchObject({ error_kind: 'too_large', value_bytes: big.row.size });
    expect(b?.kind === 'dead' && b.letter.reason).toMatch(/over the 400 bytes a record of astro.problems.v1 may have/);
  });

  it('marks a dead letter whose original had to be cut', () => {
    const admission = createProblemAdmission({ topic: 'astro.problems.v1' }, { clock: () => 0 });
    const dead = admission.admit({ row: { where: 'f line 1', index: 1, bytes: Buffer.from('abc'), size: 10 }, result: { ok: false, error: new AppError('too_large', 'f line 1: too long') } });
    expect(dead.kind === 'dead' && dead.letter).toMatchObject({ value_base64: Buffer.from('abc').toString('base64'), value_bytes: 10, value_truncated: true });
  });

  it('generated problems pass the same gate', async () => {
    const problems = [Problem.parse({ id: 'a', domain: 'countdown', source: 'g', question: 'q', answer: '1' })];
    const [only] = await collect(generatedRows(problems, 'generated'));
    expect(createProblemAdmission({ topic: 'astro.problems.v1' }, { clock: () => 0 }).admit(only as SourceItem).kind).toBe('problem');
  });
});

describe('mappingFor (run and source)', () => {
  it('takes field flags without a preset, names the source after the file or --source-name', () => {
    expect(mappingFor('/data/My Set.jsonl', { question: 'q', answer: 'a' })).toEqual({ source: 'My_Set', question: 'q', answer: 'a' });
    expect(mappingFor('/data/x.jsonl', { question: 'q', solution: 's', id: 'n', sourceName: 'mine' })).toEqual({ source: 'mine', question: 'q', solution: 's', id: 'n' });
    expect(mappingFor('/data/gsm8k-test.jsonl', { sourceName: 'gsm-copy' })).toMatchObject({ source: 'gsm-copy', question: 'question', solution: 'answer' });
    expect(() => mappingFor('/data/x.jsonl', {})).toThrow(/cannot tell the fields of \/data\/x\.jsonl: pass --preset .*or --question and --answer\/--solution/);
    expect(() => mappingFor('/data/x.jsonl', { question: 'q' })).toThrow(/--question and --answer\/--solution/);
    expect(() => mappingFor('/data/x.jsonl', { question: 'q', answer: 'a', sourceName: 'a b' })).toThrow(/--source-name/);
  });
});

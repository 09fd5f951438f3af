import { join, resolve } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../../helpers/tempDir.js';
import { PROBLEM_PRESETS, readJsonlProblems, readParquetProblems } from '../../../streams/sources/index.js';
import type { Result } from '../../../operators/common/result.js';
import type { Problem } from '../../../schemas/problem.js';
import { readFileSync } from 'node:fs';

const DATASETS = resolve(import.meta.dirname, '../../../../shared/datasets');

async function collect(it: AsyncIterable<Result<Problem>>): Promise<Result<Problem>[]> {
  const out: Result<Problem>[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('readParquetProblems', () => {
  it('reads MATH-500 written as Parquet into the same problems (same ids) as the JSONL reader', async () => {
    const rows = readFileSync(join(DATASETS, 'math500.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number>);
    const dir = testTempDir('parquet-src-');
    const file = join(dir, 'math500.parquet');
    const col = (name: string) => rows.map((r) => r[name] ?? null);
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'problem', data: col('problem'), type: 'STRING' },
        { name: 'solution', data: col('solution'), type: 'STRING' },
        { name: 'answer', data: col('answer'), type: 'STRING' },
        { name: 'subject', data: col('subject'), type: 'STRING' },
        { name: 'level', data: col('level'), type: 'INT32' },
        { name: 'unique_id', data: col('unique_id'), type: 'STRING' },
      ],
      rowGroupSize: 128,
    });
    const fromParquet = await collect(readParquetProblems(file, PROBLEM_PRESETS.math500));
    const fromJsonl = await collect(readJsonlProblems(join(DATASETS, 'math500.jsonl'), PROBLEM_PRESETS.math500));
    expect(fromParquet).toHaveLength(500);
    expect(fromParquet).toEqual(fromJsonl);
  });

  it('turns a row without a question into a failed Result naming the row', async () => {
    const dir = testTempDir('parquet-src-');
    const file = join(dir, 'bad.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'question', data: ['What is 2+2?', null, 'What is 3+3?'], type: 'STRING' },
        { name: 'answer', data: ['4', '5', '6'], type: 'STRING' },
      ],
    });
    const rs = await collect(readParquetProblems(file, { source: 'tiny', question: 'question', answer: 'answer' }));
    expect(rs.map((r) => r.ok)).toEqual([true, false, true]);
    const bad = rs[1];
    expect(bad?.ok === false && bad.error.message).toMatch(/row 2: missing question field/);
  });
});

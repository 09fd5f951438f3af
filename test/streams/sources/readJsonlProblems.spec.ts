import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROBLEM_PRESETS, readJsonlProblems, type ProblemFieldMapping } from '../../../streams/sources/index.js';
import type { Result } from '../../../operators/common/result.js';
import type { Problem } from '../../../schemas/problem.js';

const DATASETS = resolve(import.meta.dirname, '../../../../shared/datasets');

async function collect(it: AsyncIterable<Result<Problem>>): Promise<Result<Problem>[]> {
  const out: Result<Problem>[] = [];
  for await (const r of it) out.push(r);
  return out;
}
const values = (rs: Result<Problem>[]): Problem[] => rs.flatMap((r) => (r.ok ? [r.value] : []));

describe('readJsonlProblems with the dataset presets', () => {
  it.each([
    ['math500.jsonl', PROBLEM_PRESETS.math500, 500],
    ['aime24.jsonl', PROBLEM_PRESETS.aime, 30],
    ['amc23.jsonl', PROBLEM_PRESETS.amc, 40],
    ['gsm8k-test.jsonl', PROBLEM_PRESETS.gsm8k, 1319],
  ] as const)('%s: every row is a valid math problem with a unique, stable id', async (file, preset, rows) => {
    const first = await collect(readJsonlProblems(join(DATASETS, file), preset));
    expect(first.every((r) => r.ok)).toBe(true);
    const ps = values(first);
    expect(ps).toHaveLength(rows);
    expect(new Set(ps.map((p) => p.id)).size).toBe(rows);
    expect(ps.every((p) => p.domain === 'math' && p.source === preset.source && p.answer.length > 0 && p.question.length > 0)).toBe(true);
    const again = values(await collect(readJsonlProblems(join(DATASETS, file), preset)));
    expect(again.map((p) => p.id)).toEqual(ps.map((p) => p.id));
  });

  it('maps MATH-500 fields: answer, solution, level as difficulty, extras into meta_json', async () => {
    const [r] = await collect(readJsonlProblems(join(DATASETS, 'math500.jsonl'), PROBLEM_PRESETS.math500));
    expect(r?.ok).toBe(true);
    if (r?.ok !== true) return;
    expect(r.value.answer).toBe('\\left( 3, \\frac{\\pi}{2} \\right)');
    expect(r.value.difficulty).toBe(2);
    expect(r.value.solution).toContain('\\boxed');
    expect(JSON.parse(r.value.meta_json ?? '{}')).toMatchObject({ subject: 'Precalculus', level: 2 });
  });

  it('extracts GSM8K answers from the #### line and AMC numeric answers as integers', async () => {
    const [g] = values(await collect(readJsonlProblems(join(DATASETS, 'gsm8k-test.jsonl'), PROBLEM_PRESETS.gsm8k)));
    expect(g?.answer).toBe('18');
    expect(g?.solution).toContain('#### 18');
    const [a] = values(await collect(readJsonlProblems(join(DATASETS, 'amc23.jsonl'), PROBLEM_PRESETS.amc)));
    expect(a?.answer).toBe('27');
  });
});

describe('readJsonlProblems on a custom file', () => {
  const mapping: ProblemFieldMapping = { source: 'custom', question: 'q', answer: 'a', solution: 's', id: 'key', meta: ['topic'] };
  const dir = mkdtempSync(join(tmpdir(), 'sources-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'p.jsonl');
  writeFileSync(
    file,
    [
      '{"q": "What is 1+1?", "a": "2", "key": "k1", "topic": "arith"}',
      '{"q": "broken',
      '',
      '{"q": "No answer here"}',
      '{"q": "Solve it", "s": "so \\\\boxed{7}"}',
      '[1, 2]',
      '{"a": "3"}',
    ].join('\n'),
  );

  it('yields failed Results naming the line and reason, and keeps going', async () => {
    const rs = await collect(readJsonlProblems(file, mapping));
    expect(rs).toHaveLength(6);
    const errors = rs.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(errors.map((e) => e.kind)).toEqual(['decode', 'schema', 'schema', 'schema']);
    expect(errors[0]?.message).toMatch(/line 2: invalid JSON/);
    expect(errors[1]?.message).toMatch(/line 4: no answer/);
    expect(errors[2]?.message).toMatch(/line 6: not a JSON object/);
    expect(errors[3]?.message).toMatch(/line 7: missing question field "q"/);
  });

  it('takes the answer from the solution when the answer field is absent; ids key on own id else question', async () => {
    const ps = values(await collect(readJsonlProblems(file, mapping)));
    expect(ps.map((p) => p.answer)).toEqual(['2', '7']);
    expect(ps[0]?.meta_json).toBe('{"topic":"arith"}');
    const renamed = values(await collect(readJsonlProblems(file, { ...mapping, source: 'other' })));
    expect(renamed[0]?.id).not.toBe(ps[0]?.id);
    const noId = values(await collect(readJsonlProblems(file, { ...mapping, id: undefined })));
    expect(noId[0]?.id).not.toBe(ps[0]?.id);
    expect(noId[1]?.id).toBe(ps[1]?.id);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DIR } from '../../../helpers/shared.js';
import { compareAnswers } from '../../../../operators/verify/math/compare.js';
import { extractAnswer } from '../../../../operators/verify/math/extract.js';
import { createMathVerifier } from '../../../../operators/verify/math/mathVerifier.js';
import { normalizeAnswer } from '../../../../operators/verify/math/normalize.js';
import type { Problem } from '../../../../schemas/problem.js';

const DATASETS = join(SHARED_DIR, 'datasets');
const readJsonl = (file: string): Record<string, unknown>[] =>
  readFileSync(`${DATASETS}/${file}`, 'utf8').split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
const problem = (answer: string): Problem => ({ id: 'p', domain: 'math', source: 'acceptance', question: 'q', answer });

/**
 * Issue #4 acceptance: every reference solution is judged correct against its own gold answer
 * and incorrect against the next problem's gold when the two golds differ mathematically.
 */
async function judge(rows: { solution: string; answer: string }[]) {
  const v = createMathVerifier();
  let own = 0;
  let otherPairs = 0;
  let otherRejected = 0;
  const misses: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const o = rows[(i + 1) % rows.length];
    if (r === undefined || o === undefined) continue;
    if ((await v.verify(problem(r.answer), r.solution)).correct) own++;
    else misses.push(`own #${i}: ${r.answer}`);
    // "Differ mathematically" is decided on the two gold answers alone, independent of the
    // solution text being judged.
    if (normalizeAnswer(r.answer) === normalizeAnswer(o.answer) || compareAnswers(r.answer, o.answer).equal) continue;
    otherPairs++;
    if (!(await v.verify(problem(o.answer), r.solution)).correct) otherRejected++;
    else misses.push(`other #${i}: ${o.answer} accepted for ${r.answer}`);
  }
  return { own: own / rows.length, other: otherRejected / otherPairs, otherPairs, misses };
}

describe('acceptance on the shared datasets', () => {
  it('MATH-500: all 500 reference solutions match their own answer and not another problem’s (≥ 99.5%)', async () => {
    const rows = readJsonl('math500.jsonl').map((r) => ({ solution: String(r['solution']), answer: String(r['answer']) }));
    expect(rows).toHaveLength(500);
    const res = await judge(rows);
    console.log(`MATH-500: own ${(res.own * 100).toFixed(2)}%, other rejected ${(res.other * 100).toFixed(2)}% of ${res.otherPairs}`, res.misses);
    expect(res.own).toBeGreaterThanOrEqual(0.995);
    expect(res.otherPairs).toBeGreaterThan(450);
    expect(res.other).toBeGreaterThanOrEqual(0.995);
  });

  it('GSM8K test: all 1319 solutions match their own #### answer and not another problem’s (≥ 99.5%)', async () => {
    const rows = readJsonl('gsm8k-test.jsonl').map((r) => ({ solution: String(r['answer']), answer: extractAnswer(String(r['answer']))?.answer ?? '' }));
    expect(rows).toHaveLength(1319);
    const res = await judge(rows);
    console.log(`GSM8K: own ${(res.own * 100).toFixed(2)}%, other rejected ${(res.other * 100).toFixed(2)}% of ${res.otherPairs}`, res.misses);
    expect(res.own).toBeGreaterThanOrEqual(0.995);
    expect(res.other).toBeGreaterThanOrEqual(0.995);
  });

  it('GSM8K: the solution judged against a bare answer (no ####) in the gold field also works', async () => {
    const rows = readJsonl('gsm8k-test.jsonl').slice(0, 50);
    const v = createMathVerifier();
    for (const r of rows) {
      const sol = String(r['answer']);
      const gold = extractAnswer(sol)?.answer ?? '';
      expect((await v.verify(problem(gold), sol)).correct).toBe(true);
      expect((await v.verify(problem(sol), `The final answer is ${gold}.`)).correct).toBe(true);
    }
  });
});

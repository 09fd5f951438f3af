import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConformanceCases } from '../../../../bench/mathVerifyConformance.js';
import { createMathVerifier } from '../../../../operators/verify/math/mathVerifier.js';
import { CasPool } from '../../../../streams/verifier/casPool.js';
import { SHARED_DIR } from '../../../helpers/shared.js';

// Timeouts depend on load, not on the pair; the bound here is generous so that only the pair decides.
const TIMEOUT_MS = 60_000;

const pool = new CasPool();
afterAll(() => pool.close());

// The conformance file plus pairs that reach the CAS and pairs that once changed the CAS's state.
const pairs: { gold: string; response: string }[] = [
  ...loadConformanceCases(join(SHARED_DIR, 'verifier-conformance', 'cases.jsonl')).map((c) => ({ gold: c.gold, response: c.prediction })),
  { gold: 'r_{0}', response: '2' },
  { gold: '(r+5)(r+5)', response: '(r+5)^2' },
  { gold: '-2', response: '\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}' },
  { gold: '\\gcd(12, 18)', response: '6' },
  { gold: 'x_{1}', response: 'x' },
  { gold: '\\max(3, 5)', response: '5' },
];

async function judge(order: readonly number[]): Promise<Map<number, string>> {
  // A fresh verifier: nothing remembered. The CAS pool (and its engines) is shared on purpose.
  const verifier = createMathVerifier({ timeoutMs: TIMEOUT_MS }, { cas: pool });
  const out = new Map<number, string>();
  for (const i of order) {
    const p = pairs[i] as { gold: string; response: string };
    const v = await verifier.verify({ id: `c${i}`, domain: 'math', source: 'determinism', question: 'q', answer: p.gold }, p.response);
    out.set(i, `${String(v.correct)}/${v.method ?? ''}/${v.normalized ?? ''}`);
  }
  return out;
}

describe('math verifier: a verdict is a function of (gold, prediction, config)', () => {
  it('judging the pairs in any order gives every pair the same verdict', async () => {
    const indices = pairs.map((_, i) => i);
    const reference = await judge(indices);
    expect([...reference.values()].some((v) => v.includes('/cas/') || v.includes('/unparsed/'))).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length }), async (order) => {
        const shuffled = await judge(order);
        for (const i of indices) expect(shuffled.get(i), `pair ${i}: ${JSON.stringify(pairs[i])}`).toBe(reference.get(i));
      }),
      { numRuns: 3, seed: 20250703 },
    );
  }, 300_000);
});

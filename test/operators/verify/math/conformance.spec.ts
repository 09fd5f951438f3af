import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agreementByKind, CONFORMANCE_KINDS, loadConformanceCases } from '../../../../bench/mathVerifyConformance.js';
import { createMathVerifier } from '../../../../operators/verify/math/mathVerifier.js';
import { CasPool } from '../../../../streams/verifier/casPool.js';
import { SHARED_DIR } from '../../../helpers/shared.js';

// Agreement with the graders' expected verdicts that math@2.0.0 must keep (math-verify 0.9.0: 0.937).
const REQUIRED = 0.95;

const pool = new CasPool();
afterAll(() => pool.close());

describe('verifier conformance (../shared/verifier-conformance: five graders’ test suites)', () => {
  it(`agrees with the expected verdicts on at least ${REQUIRED} of the cases`, async () => {
    const cases = loadConformanceCases(join(SHARED_DIR, 'verifier-conformance', 'cases.jsonl'));
    expect(cases.length).toBeGreaterThanOrEqual(399);
    // Verdicts, not timing: a bound that a worker starting from the TypeScript sources never hits.
    const verifier = createMathVerifier({ timeoutMs: 60_000 }, { cas: pool });
    const verdicts: boolean[] = [];
    const misses: string[] = [];
    for (const c of cases) {
      const v = await verifier.verify({ id: 'c', domain: 'math', source: 'conformance', question: 'q', answer: c.gold }, c.prediction);
      verdicts.push(v.correct);
      if (v.correct !== c.expected) misses.push(`${c.source}: expected ${String(c.expected)}, got ${String(v.correct)} (${v.method})`);
    }
    const ours = agreementByKind(cases, verdicts);
    const theirs = agreementByKind(cases, cases.map((c) => c.math_verify_0_9_0));
    const line = (k: (typeof CONFORMANCE_KINDS)[number] | 'all'): string => {
      const o = ours.get(k);
      const t = theirs.get(k);
      return `${k}: ${o?.agree}/${o?.total} (math-verify ${t?.agree}/${t?.total})`;
    };
    console.log(['conformance:', ...CONFORMANCE_KINDS.map(line), line('all'), 'misses:', ...misses].join('\n  '));
    const all = ours.get('all');
    expect(all?.total).toBe(cases.length);
    expect((all?.agree ?? 0) / cases.length).toBeGreaterThanOrEqual(REQUIRED);
  }, 120_000);
});

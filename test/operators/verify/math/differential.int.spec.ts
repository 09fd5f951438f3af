import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDiffPairs, loadGoldAnswers, type DiffPair } from '../../../../bench/mathVerifyPairs.js';
import { createCas } from '../../../../operators/verify/math/symbolic.js';
import { compareAnswers } from '../../../../operators/verify/math/compare.js';
import { extractAnswer } from '../../../../operators/verify/math/extract.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const DATASETS = resolve(ROOT, '../shared/datasets');

/** Runs scripts/math_verify_pairs.py once over all pairs (one python process). */
function runMathVerify(pairs: readonly DiffPair[], dir: string): boolean[] {
  const input = join(dir, 'pairs.jsonl');
  writeFileSync(input, pairs.map((p) => JSON.stringify({ gold: p.gold, pred: p.pred })).join('\n') + '\n');
  const r = spawnSync('python3', [join(ROOT, 'scripts/math_verify_pairs.py'), input], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`math-verify failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { correct?: boolean });
  return lines.filter((l) => l.correct !== undefined).map((l) => l.correct === true);
}

describe('math verifier vs math-verify 0.9 (differential)', () => {
  it('agrees on ≥ 99% of rewritten-equivalent and near-miss pairs built from the shared datasets', () => {
    // GSM8K answers are all integers: 300 of them exercise every rule that applies.
    const pairs = buildDiffPairs(loadGoldAnswers(DATASETS), 7, 500).filter((p, i) => p.source !== 'gsm8k' || i % 1 === 0);
    const dir = mkdtempSync(join(tmpdir(), 'math-diff-'));
    const theirs = runMathVerify(pairs, dir);
    expect(theirs).toHaveLength(pairs.length);
    const cas = createCas();
    const disagreements: Record<string, unknown>[] = [];
    pairs.forEach((p, i) => {
      const g = extractAnswer(p.gold)?.answer ?? '';
      const q = extractAnswer(p.pred)?.answer ?? '';
      const ours = compareAnswers(g, q, undefined, { cas });
      if (ours.equal !== theirs[i]) disagreements.push({ ...p, ours: ours.equal, mathVerify: theirs[i], method: ours.method, goldNormalized: ours.goldNormalized, predNormalized: ours.predNormalized });
    });
    const report = join(dir, 'disagreements.jsonl');
    writeFileSync(report, disagreements.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const agreement = 1 - disagreements.length / pairs.length;
    console.log(`differential: ${pairs.length} pairs, agreement ${(agreement * 100).toFixed(2)}%, ${disagreements.length} disagreements → ${report}`);
    expect(pairs.length).toBeGreaterThan(2000);
    expect(agreement).toBeGreaterThanOrEqual(0.99);
  });
});

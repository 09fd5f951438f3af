import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DIR } from '../../../helpers/shared.js';
import { buildDiffPairs, loadGoldAnswers, type DiffPair } from '../../../../bench/mathVerifyPairs.js';
import { DEFAULT_COMPARE_CONFIG } from '../../../../operators/verify/math/compare.js';
import { judgeAnswer } from '../../../../operators/verify/math/judge.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const DATASETS = join(SHARED_DIR, 'datasets');

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
    // GSM8K answers are all integers: 500 of them exercise every rule that applies. The hand-written
    // tricky pairs (test/fixtures/math) ride along in the same python run.
    const tricky = readFileSync(join(ROOT, 'test/fixtures/math/tricky-pairs.jsonl'), 'utf8').trim().split('\n').map((l) => {
      const t = JSON.parse(l) as { gold: string; pred: string; expected: boolean; class: string };
      return { gold: t.gold, pred: t.pred, expected: t.expected, rule: `tricky:${t.class}`, source: 'fixture' } satisfies DiffPair;
    });
    // All MATH-500, AIME and AMC golds; GSM8K golds are all integers, so its first 100 already
    // exercise every rule that applies (keeps math-verify's share of the run near 25 s).
    let gsm = 0;
    const golds = loadGoldAnswers(DATASETS).filter((g) => g.source !== 'gsm8k' || gsm++ < 100);
    const pairs = [...buildDiffPairs(golds, 7, 500), ...tricky];
    const dir = mkdtempSync(join(tmpdir(), 'math-diff-'));
    const theirs = runMathVerify(pairs, dir);
    expect(theirs).toHaveLength(pairs.length);
    const disagreements: Record<string, unknown>[] = [];
    const oursWrongOnTricky: string[] = [];
    pairs.forEach((p, i) => {
      // Inline checks only (no CAS pool): what these pairs need never goes further.
      const ours = judgeAnswer(p.gold, p.pred, DEFAULT_COMPARE_CONFIG);
      if (p.source === 'fixture' && ours.correct !== p.expected) oursWrongOnTricky.push(`${p.rule}: ${p.gold} vs ${p.pred}`);
      if (ours.correct !== theirs[i]) disagreements.push({ ...p, ours: ours.correct, mathVerify: theirs[i], method: ours.method, goldNormalized: ours.goldNormalized, predNormalized: ours.predNormalized });
    });
    const report = join(dir, 'disagreements.jsonl');
    writeFileSync(report, disagreements.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const agreement = 1 - disagreements.length / pairs.length;
    console.log(`differential: ${pairs.length} pairs, agreement ${(agreement * 100).toFixed(2)}%, ${disagreements.length} disagreements → ${report}`);
    expect(pairs.length).toBeGreaterThan(3000);
    expect(agreement).toBeGreaterThanOrEqual(0.99);
    expect(tricky.length).toBeGreaterThan(40);
    expect(oursWrongOnTricky).toEqual([]);
    // Kept when an assertion above fails: the log line names the report.
    rmSync(dir, { recursive: true, force: true });
  }, 600_000);
});

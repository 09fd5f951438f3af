import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compareAnswers } from '../operators/verify/math/compare.js';
import { extractAnswer } from '../operators/verify/math/extract.js';
import { createCas } from '../operators/verify/math/symbolic.js';
import { buildDiffPairs, loadGoldAnswers, type DiffPair } from './mathVerifyPairs.js';

/**
 * Side-by-side benchmark of our math verifier against Hugging Face math-verify on the same pairs
 * (bench/mathVerifyPairs.ts), in one run: verifications per second for each, the speed ratio, and
 * the agreement rate. Run from the repo root after `npm run build`:
 *
 *   node dist/bench/mathVerify.js [--datasets ../shared/datasets] [--per-source 500]
 *
 * math-verify's time is measured inside its Python process (parse + verify only, no interpreter
 * start-up), so the ratio does not flatter us.
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

function ours(pairs: readonly DiffPair[]): { verdicts: boolean[]; seconds: number } {
  const cas = createCas();
  const run = (): boolean[] => pairs.map((p) => compareAnswers(extractAnswer(p.gold)?.answer ?? '', extractAnswer(p.pred)?.answer ?? '', undefined, { cas }).equal);
  run(); // warm-up pass: JIT and the CAS's lazily built dictionaries (math-verify's imports are warm too)
  const t0 = performance.now();
  const verdicts = run();
  return { verdicts, seconds: (performance.now() - t0) / 1000 };
}

function theirs(pairs: readonly DiffPair[], script: string): { verdicts: boolean[]; seconds: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-math-verify-'));
  const input = join(dir, 'pairs.jsonl');
  writeFileSync(input, pairs.map((p) => JSON.stringify({ gold: p.gold, pred: p.pred })).join('\n') + '\n');
  const r = spawnSync('python3', [script, input], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`math-verify failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { correct?: boolean; summary?: { seconds: number } });
  const summary = lines.find((l) => l.summary !== undefined)?.summary;
  return { verdicts: lines.filter((l) => l.correct !== undefined).map((l) => l.correct === true), seconds: summary?.seconds ?? Number.NaN };
}

function main(): void {
  const datasets = resolve(arg('datasets', '../shared/datasets'));
  const perSource = Number(arg('per-source', '500'));
  const script = resolve(arg('script', 'scripts/math_verify_pairs.py'));
  const pairs = buildDiffPairs(loadGoldAnswers(datasets), 7, perSource);
  const a = ours(pairs);
  const b = theirs(pairs, script);
  let agree = 0;
  const differing: string[] = [];
  let oursVsIntent = 0;
  let theirsVsIntent = 0;
  pairs.forEach((p, i) => {
    if (a.verdicts[i] === b.verdicts[i]) agree++;
    else differing.push(`  ${p.rule}: ${p.gold} vs ${p.pred} (ours ${String(a.verdicts[i])}, math-verify ${String(b.verdicts[i])}, intended ${String(p.expected)})`);
    if (a.verdicts[i] === p.expected) oursVsIntent++;
    if (b.verdicts[i] === p.expected) theirsVsIntent++;
  });
  const rate = (s: number) => pairs.length / s;
  const pct = (n: number) => `${((100 * n) / pairs.length).toFixed(2)}%`;
  console.log(`pairs: ${pairs.length} (${perSource} gold answers per source at most)`);
  console.log(`| verifier | seconds | verifications/s | agrees with intended label |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  console.log(`| astro-stream math@1.0.0 | ${a.seconds.toFixed(3)} | ${rate(a.seconds).toFixed(0)} | ${pct(oursVsIntent)} |`);
  console.log(`| math-verify 0.9 (Python) | ${b.seconds.toFixed(3)} | ${rate(b.seconds).toFixed(0)} | ${pct(theirsVsIntent)} |`);
  if (differing.length > 0) console.log(`disagreements (first 20):\n${differing.slice(0, 20).join('\n')}`);
  console.log(`speed ratio: ${(b.seconds / a.seconds).toFixed(1)}x; agreement: ${pct(agree)} (${pairs.length - agree} disagreements)`);
}

main();

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createMathVerifier, MATH_VERIFIER_NAME, MATH_VERIFIER_VERSION } from '../operators/verify/math/mathVerifier.js';
import type { Verifier } from '../operators/verify/verifier.js';
import { CasPool } from '../streams/verifier/casPool.js';
import { agreementByKind, CONFORMANCE_KINDS, loadConformanceCases, type ConformanceCase } from './mathVerifyConformance.js';

/**
 * Side-by-side benchmark of our math verifier against Hugging Face math-verify 0.9.0 on the
 * verifier conformance cases, in one run: agreement with the graders' expected verdicts (overall
 * and by kind), verifications per second, and our worst call (p100) including a CAS worker
 * replacement. Run from the repo root after `npm run build`:
 *
 *   node dist/bench/mathVerify.js [--cases ../shared/verifier-conformance/cases.jsonl] [--rounds 5]
 *
 * Ours: the full verifier (inline checks, CAS worker pool, 2 s bound), one fresh verifier per
 * round (nothing remembered between rounds) after a warm-up round (JIT, worker start), one call at
 * a time. math-verify: `parse` + `verify` timed inside its Python process (no interpreter start-up),
 * each side wrapped in `$…$` unless it already has math delimiters or a box.
 */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const defaultCases = (): string => ['../shared', '../../shared'].map((d) => resolve(d, 'verifier-conformance', 'cases.jsonl')).find((p) => existsSync(p)) ?? resolve('../shared/verifier-conformance/cases.jsonl');

const problemOf = (gold: string) => ({ id: 'c', domain: 'math', source: 'conformance', question: 'q', answer: gold });

async function judgeAll(verifier: Verifier, cases: readonly ConformanceCase[], times: number[]): Promise<{ verdicts: boolean[]; methods: string[]; seconds: number }> {
  const verdicts: boolean[] = [];
  const methods: string[] = [];
  const t0 = performance.now();
  for (const c of cases) {
    const t = performance.now();
    const v = await verifier.verify(problemOf(c.gold), c.prediction);
    times.push(performance.now() - t);
    verdicts.push(v.correct);
    methods.push(v.method ?? '?');
  }
  return { verdicts, methods, seconds: (performance.now() - t0) / 1000 };
}

// A pair only the CAS reads (the inline parser does not know \det).
const CAS_PAIR = { gold: '-2', prediction: '\\boxed{\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}' };

async function ours(cases: readonly ConformanceCase[], rounds: number) {
  const pool = new CasPool();
  try {
    await judgeAll(createMathVerifier({}, { cas: pool }), cases, []);
    const times: number[] = [];
    let first: { verdicts: boolean[]; methods: string[] } | null = null;
    let seconds = 0;
    for (let r = 0; r < rounds; r++) {
      const run = await judgeAll(createMathVerifier({}, { cas: pool }), cases, times);
      first ??= run;
      seconds += run.seconds;
    }
    // A worker replacement: a CAS pair given a 5 ms bound times out while its worker computes; the
    // worker is terminated and replaced; the next CAS pair waits for the new worker to start.
    const restartsBefore = pool.stats().restarts;
    const replacementTimes: number[] = [];
    for (let k = 0; k < 5 && pool.stats().restarts === restartsBefore; k++) {
      const t = performance.now();
      await createMathVerifier({ timeoutMs: 5 }, { cas: pool }).verify(problemOf(CAS_PAIR.gold), CAS_PAIR.prediction);
      replacementTimes.push(performance.now() - t);
    }
    const t = performance.now();
    const after = await createMathVerifier({}, { cas: pool }).verify(problemOf(CAS_PAIR.gold), CAS_PAIR.prediction);
    replacementTimes.push(performance.now() - t);
    const replaced = pool.stats().restarts - restartsBefore;
    const overload = await overloaded(pool);
    return { ...(first as { verdicts: boolean[]; methods: string[] }), seconds: seconds / rounds, times, replacementTimes, replaced, afterReplacement: after.method, overload, stats: pool.stats() };
  } finally {
    await pool.close();
  }
}

// The bound under overload: this many distinct CAS pairs at once, far more than the workers can
// answer within 2 s, so the last ones wait out their whole bound in the queue.
const OVERLOAD_PAIRS = 1000;

async function overloaded(pool: CasPool): Promise<{ pairs: number; timeouts: number; p100Ms: number }> {
  const verifier = createMathVerifier({}, { cas: pool });
  const calls = Array.from({ length: OVERLOAD_PAIRS }, async (_, k) => {
    const t = performance.now();
    const v = await verifier.verify(problemOf(String(4 - 3 * (k + 2))), `\\boxed{\\det\\begin{pmatrix}1&${k + 2}\\\\3&4\\end{pmatrix}}`);
    return { ms: performance.now() - t, timeout: v.method === 'timeout' };
  });
  const results = await Promise.all(calls);
  return { pairs: OVERLOAD_PAIRS, timeouts: results.filter((r) => r.timeout).length, p100Ms: Math.max(...results.map((r) => r.ms)) };
}

function theirs(cases: readonly ConformanceCase[], script: string): { verdicts: boolean[]; seconds: number } {
  const wrap = (s: string): string => (/\$|\\\(|\\\[|\\boxed/.test(s) ? s : `$${s}$`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-math-verify-'));
  const input = join(dir, 'pairs.jsonl');
  writeFileSync(input, `${cases.map((c) => JSON.stringify({ gold: wrap(c.gold), pred: wrap(c.prediction) })).join('\n')}\n`);
  const r = spawnSync('python3', [script, input], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`math-verify failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { correct?: boolean; summary?: { seconds: number } });
  const summary = lines.find((l) => l.summary !== undefined)?.summary;
  return { verdicts: lines.filter((l) => l.correct !== undefined).map((l) => l.correct === true), seconds: summary?.seconds ?? Number.NaN };
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const cases = loadConformanceCases(resolve(arg('cases', defaultCases())));
  const rounds = Number(arg('rounds', '5'));
  const script = resolve(arg('script', 'scripts/math_verify_pairs.py'));
  const a = await ours(cases, rounds);
  const b = theirs(cases, script);
  const ka = agreementByKind(cases, a.verdicts);
  const kb = agreementByKind(cases, b.verdicts);
  const kr = agreementByKind(cases, cases.map((c) => c.math_verify_0_9_0));
  const fmt = (e: { agree: number; total: number } | undefined): string => (e === undefined ? '-' : `${(e.agree / e.total).toFixed(3)} (${e.agree}/${e.total})`);
  console.log(`cases: ${cases.length}; ours: ${rounds} rounds after a warm-up round`);
  console.log('| kind | ours | math-verify (this run) | math-verify (recorded in cases.jsonl) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const k of [...CONFORMANCE_KINDS, 'all'] as const) console.log(`| ${k} | ${fmt(ka.get(k))} | ${fmt(kb.get(k))} | ${fmt(kr.get(k))} |`);
  const rate = (s: number) => cases.length / s;
  console.log('');
  console.log('| verifier | seconds per pass | verifications/s |');
  console.log('| --- | ---: | ---: |');
  console.log(`| astro-stream ${MATH_VERIFIER_NAME}@${MATH_VERIFIER_VERSION} | ${a.seconds.toFixed(3)} | ${rate(a.seconds).toFixed(0)} |`);
  console.log(`| math-verify 0.9.0 (Python) | ${b.seconds.toFixed(3)} | ${rate(b.seconds).toFixed(0)} |`);
  console.log(`speed ratio: ${(b.seconds / a.seconds).toFixed(1)}x`);
  const methods = new Map<string, number>();
  for (const m of a.methods) methods.set(m, (methods.get(m) ?? 0) + 1);
  console.log(`methods (one pass): ${[...methods].sort((x, y) => y[1] - x[1]).map(([m, n]) => `${m} ${n}`).join(', ')}`);
  console.log(`ours per call (${a.times.length} calls): p50 ${quantile(a.times, 0.5).toFixed(3)} ms, p99 ${quantile(a.times, 0.99).toFixed(2)} ms, p100 ${Math.max(...a.times).toFixed(1)} ms`);
  console.log(`worker replacement: ${a.replaced} worker(s) terminated and replaced; calls around it ${a.replacementTimes.map((t) => t.toFixed(0)).join(', ')} ms (last: ${a.afterReplacement}); p100 including them ${Math.max(...a.times, ...a.replacementTimes).toFixed(0)} ms`);
  console.log(`bound under overload: ${a.overload.pairs} CAS pairs at once, ${a.overload.timeouts} timed out, p100 ${a.overload.p100Ms.toFixed(0)} ms`);
  console.log(`CAS pool: ${JSON.stringify(a.stats)}`);
}

await main();

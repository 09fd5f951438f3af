import { readFileSync } from 'node:fs';
import { createRng, type Rng } from '../operators/common/rng.js';
import { extractAnswer } from '../operators/verify/math/extract.js';

/**
 * Differential pairs for comparing our math verifier with math-verify (used by the differential
 * test and by `bench/mathVerify.ts`): every gold answer of the shared datasets against rewritten
 * equivalent forms and near-miss wrong forms. Both sides are wrapped in `\boxed{}` so that both
 * verifiers extract the same text.
 */
export interface DiffPair {
  readonly gold: string;
  readonly pred: string;
  /** The rewrite that produced `pred` (e.g. `frac-to-slash`, `off-by-one`). */
  readonly rule: string;
  /** What the rewrite intends: true for equivalent forms, false for near misses. */
  readonly expected: boolean;
  readonly source: string;
}

/** Gold answers (bare) of the four shared datasets, in file order. */
export function loadGoldAnswers(datasetsDir: string): { source: string; answer: string }[] {
  const read = (file: string): Record<string, unknown>[] =>
    readFileSync(`${datasetsDir}/${file}`, 'utf8').split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
  const out: { source: string; answer: string }[] = [];
  for (const r of read('math500.jsonl')) out.push({ source: 'math500', answer: String(r['answer']) });
  for (const r of read('aime24.jsonl')) out.push({ source: 'aime', answer: String(r['answer']) });
  for (const r of read('amc23.jsonl')) out.push({ source: 'amc', answer: String(r['answer']).replace(/\.0$/, '') });
  for (const r of read('gsm8k-test.jsonl')) out.push({ source: 'gsm8k', answer: extractAnswer(String(r['answer']))?.answer ?? '' });
  return out.filter((g) => g.answer.length > 0);
}

type Rule = (a: string, rng: Rng) => string | null;

const FRAC = /^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$/;
const INT = /^-?\d+$/;

const EQUIVALENT: Readonly<Record<string, Rule>> = {
  spaces: (a) => (/\d,(?:\\!)?\d{3}/.test(a) ? null : ` ${a.replace(/([,+=]|-(?=\d))/g, ' $1 ')} `),
  'frac-to-dfrac': (a) => (a.includes('\\frac') ? a.replace(/\\frac/g, '\\dfrac') : null),
  'frac-to-slash': (a) => {
    const m = FRAC.exec(a);
    return m === null ? null : `${m[1] ?? ''}${m[2] ?? ''}/${m[3] ?? ''}`;
  },
  'frac-to-decimal': (a) => {
    const m = FRAC.exec(a);
    if (m === null) return null;
    const v = Number(m[2]) / Number(m[3]);
    const s = String(v);
    return s.length <= 8 ? `${m[1] ?? ''}${s}` : null;
  },
  'int-to-decimal': (a) => (INT.test(a) ? `${a}.0` : null),
  'text-unit': (a) => (INT.test(a) ? `${a}\\text{ units}` : null),
  'thousands-sep': (a) => (/^\d{4,}$/.test(a) ? Number(a).toLocaleString('en-US') : null),
  'left-right': (a) => (/^\(.*\)$/.test(a) ? `\\left(${a.slice(1, -1)}\\right)` : null),
  'reorder-list': (a) => {
    if (/[()[\]{}]/.test(a) || /^[([{\\]/.test(a) || !a.includes(',') || /^\d{1,3}(?:,(?:\\!)?\s*\d{3})+$/.test(a)) return null;
    const parts = a.split(',').map((p) => p.trim());
    return parts.length > 1 ? [...parts].reverse().join(', ') : null;
  },
  'as-equation': (a) => (INT.test(a) ? `x = ${a}` : null),
  'sqrt-shorthand': (a) => (/\\sqrt\{\d\}/.test(a) ? a.replace(/\\sqrt\{(\d)\}/g, '\\sqrt$1') : null),
  'sqrt-absorb': (a) => {
    const m = /^(\d+)\s*\\sqrt\{(\d+)\}$/.exec(a);
    return m === null ? null : `\\sqrt{${Number(m[1]) ** 2 * Number(m[2])}}`;
  },
  'commute-sum': (a) => {
    if (a.includes(',') || a.includes('=')) return null;
    const m = /^([^+\-{}()]+)([+-])([^+\-{}()]+)$/.exec(a.replace(/\s+/g, ''));
    if (m === null || (m[1] ?? '').length === 0) return null;
    return `${m[2] === '-' ? '-' : ''}${m[3] ?? ''}+${m[1] ?? ''}`;
  },
  'pi-factor': (a) => {
    const m = /^\\frac\{(\d*)\\pi\}\{(\d+)\}$/.exec(a);
    return m === null ? null : `\\frac{${m[1] || '1'}}{${m[2] ?? ''}}\\pi`;
  },
  degrees: (a) => (INT.test(a) && Number(a) > 0 && Number(a) < 360 ? `${a}^\\circ` : null),
};

const NEAR_MISS: Readonly<Record<string, Rule>> = {
  'off-by-one': (a) => (INT.test(a) ? String(BigInt(a) + 1n) : null),
  'sign-flip': (a) => (a === '0' || a.includes(',') ? null : a.startsWith('-') ? a.slice(1) : `-${a}`),
  'swap-tuple': (a) => {
    const m = /^\((.*)\)$/.exec(a);
    if (m === null) return null;
    const parts = (m[1] ?? '').split(',');
    if (parts.length !== 2 || parts[0]?.trim() === parts[1]?.trim()) return null;
    return `(${parts[1]?.trim() ?? ''}, ${parts[0]?.trim() ?? ''})`;
  },
  'other-fraction': (a) => {
    const m = FRAC.exec(a);
    return m === null ? null : `${m[1] ?? ''}\\frac{${Number(m[2]) + 1}}{${m[3] ?? ''}}`;
  },
  'inverted-fraction': (a) => {
    const m = FRAC.exec(a);
    return m === null || m[2] === m[3] ? null : `${m[1] ?? ''}\\frac{${m[3] ?? ''}}{${m[2] ?? ''}}`;
  },
  'other-sqrt': (a) => (/\\sqrt\{\d+\}/.test(a) ? a.replace(/\\sqrt\{(\d+)\}/, (_m, d: string) => `\\sqrt{${Number(d) + 1}}`) : null),
  'sqrt-to-square': (a) => (/^\\sqrt\{\d+\}$/.test(a) ? a.replace(/\\sqrt\{(\d+)\}/, '$1^2') : null),
  'pi-dropped': (a) => (a.includes('\\pi') && !a.includes(',') ? a.replace(/\\pi/g, '') || null : null),
  'drop-list-item': (a) => {
    if (/^[([{\\]/.test(a) || !a.includes(',') || /^\d{1,3}(?:,(?:\\!)?\s*\d{3})+$/.test(a)) return null;
    return a.split(',').slice(1).join(',');
  },
};

/**
 * Builds the pairs: for each gold answer, every applicable equivalent rewrite and near miss, plus
 * the identity. `maxPerSource` samples (seeded) to keep CI runs short.
 */
export function buildDiffPairs(golds: readonly { source: string; answer: string }[], seed = 7, maxPerSource = 10_000): DiffPair[] {
  const rng = createRng(seed);
  const count = new Map<string, number>();
  const pairs: DiffPair[] = [];
  const box = (s: string): string => `\\boxed{${s}}`;
  for (const g of golds) {
    const n = count.get(g.source) ?? 0;
    if (n >= maxPerSource) continue;
    count.set(g.source, n + 1);
    const a = g.answer.trim();
    pairs.push({ gold: box(a), pred: box(a), rule: 'identity', expected: true, source: g.source });
    for (const [rule, fn] of Object.entries(EQUIVALENT)) {
      const p = fn(a, rng);
      if (p !== null && p !== a) pairs.push({ gold: box(a), pred: box(p), rule, expected: true, source: g.source });
    }
    for (const [rule, fn] of Object.entries(NEAR_MISS)) {
      const p = fn(a, rng);
      if (p !== null && p !== a) pairs.push({ gold: box(a), pred: box(p), rule, expected: false, source: g.source });
    }
  }
  return pairs;
}

import { AppError } from '../../operators/common/errors.js';
import type { Problem } from '../../schemas/problem.js';
import { extractLastBoxed } from './boxed.js';
import { evaluateExpression } from './expression.js';

/** Slots in a state: the most numbers a Countdown problem may have. */
export const MAX_NUMBERS = 6;

/** Operators in action order (`op` index 0–3). Rendered with ASCII characters. */
export const OPS = ['+', '-', '*', '/'] as const;

/** One of {@link OPS}. */
export type Op = (typeof OPS)[number];

/** First answer action: `ANSWER_OFFSET + p` boxes the expression held in slot p. */
export const ANSWER_OFFSET = MAX_NUMBERS * MAX_NUMBERS * OPS.length;

/** Size of the action space: 144 combine actions `((i * MAX_NUMBERS + j) * 4 + op)` and 6 answer actions. */
export const ACTION_COUNT = ANSWER_OFFSET + MAX_NUMBERS;

/** A Countdown search state (the network's view of `SearchState`). */
export interface CountdownState {
  /** Numbers still available, in slot order. */
  readonly numbers: readonly number[];
  /** `exprs[i]` is the minimally parenthesized expression over the given numbers that makes `numbers[i]`. */
  readonly exprs: readonly string[];
  readonly target: number;
  /** Steps applied so far (the next step is rendered as `Step ${step + 1}`). */
  readonly step: number;
  /** The boxed expression once an answer action was taken; null before. */
  readonly answered: string | null;
}

/** The outcome of {@link applyAction}. */
export interface AppliedAction {
  readonly state: CountdownState;
  /** The rendered step text (one paragraph). */
  readonly step: string;
  readonly terminal: boolean;
}

/**
 * The state before any step. Throws a non-retriable `schema` AppError when the problem has no
 * target, not 1–6 numbers, or a number that is not a positive safe integer (bad data, not a bug).
 */
export function initialState(problem: Problem): CountdownState {
  const { numbers, target } = problem;
  if (numbers === undefined || target === undefined) throw new AppError('schema', `countdown problem ${problem.id} needs numbers and target`);
  if (numbers.length < 1 || numbers.length > MAX_NUMBERS) {
    throw new AppError('schema', `countdown problem ${problem.id} has ${numbers.length} numbers; 1–${MAX_NUMBERS} supported`);
  }
  if (!numbers.every((n) => Number.isSafeInteger(n) && n > 0) || !Number.isSafeInteger(target)) {
    throw new AppError('schema', `countdown problem ${problem.id} numbers must be positive integers`);
  }
  return { numbers: [...numbers], exprs: numbers.map(String), target, step: 0, answered: null };
}

/** The result of `a op b` when that combine is legal, else -1 (legality rules of {@link legalMask}). */
export function combineValue(a: number, op: number, b: number): number {
  switch (op) {
    case 0:
      return a + b;
    case 1:
      return a > b ? a - b : -1;
    case 2: {
      const p = a * b;
      // Past 2^53 the arithmetic would stop being exact.
      return Number.isSafeInteger(p) ? p : -1;
    }
    case 3:
      return b > 1 && a % b === 0 ? a / b : -1;
    default:
      return -1;
  }
}

/**
 * True when boxing slot `p` is a claimed solution: the slot holds the target, or it is the last
 * number left (nothing remains to combine). So a wrong terminal is always a complete attempt, an
 * expression over every given number that misses the target, never a give-up that boxes some
 * leftover number. Nothing can be answered twice.
 */
export function canAnswer(state: CountdownState, p: number): boolean {
  return state.answered === null && p >= 0 && p < state.numbers.length && (state.numbers.length === 1 || state.numbers[p] === state.target);
}

/**
 * Writes the legal-action mask (1 legal, 0 not) into `out[offset .. offset + ACTION_COUNT)` and
 * returns how many actions are legal. Combines need two occupied slots i≠j; `+`/`*` only for i<j
 * (one action per unordered pair); `-` only when a > b; `/` only when b > 1 divides a. A slot may
 * be answered when it is a claimed solution ({@link canAnswer}). Every unanswered state has a
 * legal action: `a + b` while two numbers remain, the answer when one does. Nothing is legal once answered.
 */
export function legalMask(state: CountdownState, out: Float32Array, offset = 0): number {
  out.fill(0, offset, offset + ACTION_COUNT);
  if (state.answered !== null) return 0;
  const nums = state.numbers;
  const n = Math.min(nums.length, MAX_NUMBERS);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const a = nums[i] ?? 0;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const b = nums[j] ?? 0;
      const base = offset + (i * MAX_NUMBERS + j) * 4;
      for (let op = 0; op < 4; op++) {
        if ((op === 0 || op === 2) && i > j) continue;
        if (combineValue(a, op, b) < 0) continue;
        out[base + op] = 1;
        count++;
      }
    }
    if (canAnswer(state, i)) {
      out[offset + ANSWER_OFFSET + i] = 1;
      count++;
    }
  }
  return count;
}

/** True when `action` is legal in `state` (same rules as {@link legalMask}, without a buffer). */
export function isLegalAction(state: CountdownState, action: number): boolean {
  if (state.answered !== null || !Number.isInteger(action) || action < 0 || action >= ACTION_COUNT) return false;
  const n = state.numbers.length;
  if (action >= ANSWER_OFFSET) return canAnswer(state, action - ANSWER_OFFSET);
  const op = action % 4;
  const pair = (action - op) / 4;
  const i = Math.floor(pair / MAX_NUMBERS);
  const j = pair % MAX_NUMBERS;
  if (i === j || i >= n || j >= n) return false;
  if ((op === 0 || op === 2) && i > j) return false;
  return combineValue(state.numbers[i] ?? 0, op, state.numbers[j] ?? 0) >= 0;
}

// Precedence of an expression's top-level operator: 1 additive, 2 multiplicative, 3 atom/parenthesized.
function precedence(expr: string): number {
  let depth = 0;
  let prec = 3;
  for (let k = 0; k < expr.length; k++) {
    const c = expr.charCodeAt(k);
    if (c === 40) depth++;
    else if (c === 41) depth--;
    else if (depth === 0) {
      if (c === 43 || c === 45) return 1;
      if (c === 42 || c === 47) prec = 2;
    }
  }
  return prec;
}

/** `left op right` with only the parentheses that evaluation order needs (exact arithmetic, so `a*b/c` = `a*(b/c)`). */
export function joinExpr(left: string, op: number, right: string): string {
  const lp = precedence(left);
  const rp = precedence(right);
  const symbol = OPS[op] ?? '+';
  const l = op >= 2 && lp === 1 ? `(${left})` : left;
  const r = (op === 1 && rp === 1) || (op === 2 && rp === 1) || (op === 3 && rp <= 2) ? `(${right})` : right;
  return `${l}${symbol}${r}`;
}

/**
 * Applies a legal action. A combine removes slots i and j and puts the result first, then the
 * other numbers in order, rendered `Step 2: 75 - 25 = 50. Remaining: 50, 8, 3.`; an answer is
 * terminal, rendered `Step 3: 100 = (75-25)*2. The answer is \boxed{(75-25)*2}.`
 * Throws RangeError on an illegal action (a programmer error: callers mask first).
 */
export function applyAction(state: CountdownState, action: number): AppliedAction {
  if (!isLegalAction(state, action)) throw new RangeError(`illegal countdown action ${action} in state [${state.numbers.join(', ')}]`);
  const stepNo = state.step + 1;
  if (action >= ANSWER_OFFSET) {
    const p = action - ANSWER_OFFSET;
    const expr = state.exprs[p] ?? '';
    const next: CountdownState = { ...state, step: stepNo, answered: expr };
    return { state: next, step: `Step ${stepNo}: ${state.numbers[p]} = ${expr}. The answer is \\boxed{${expr}}.`, terminal: true };
  }
  const op = action % 4;
  const pair = (action - op) / 4;
  const i = Math.floor(pair / MAX_NUMBERS);
  const j = pair % MAX_NUMBERS;
  const a = state.numbers[i] ?? 0;
  const b = state.numbers[j] ?? 0;
  const value = combineValue(a, op, b);
  const numbers = [value];
  const exprs = [joinExpr(state.exprs[i] ?? '', op, state.exprs[j] ?? '')];
  for (let k = 0; k < state.numbers.length; k++) {
    if (k === i || k === j) continue;
    numbers.push(state.numbers[k] ?? 0);
    exprs.push(state.exprs[k] ?? '');
  }
  const text = `Step ${stepNo}: ${a} ${OPS[op]} ${b} = ${value}. Remaining: ${numbers.join(', ')}.`;
  return { state: { numbers, exprs, target: state.target, step: stepNo, answered: null }, step: text, terminal: false };
}

// Unicode operator variants an LLM may write, mapped to ASCII.
const OP_VARIANTS: Readonly<Record<string, string>> = { '×': '*', '·': '*', '∗': '*', x: '*', X: '*', '÷': '/', '−': '-', '–': '-', '—': '-', '＋': '+' };
const MAX_STEP_CHARS = 400;
// Matched against whitespace-collapsed text, where every optional space is one character: no
// overlapping quantifiers, so matching stays linear (an earlier `\s*`-heavy pattern backtracked badly).
const COMBINE_RE = /^(?:#+ ?)?(?:\*\*)?(?:step ?\d+ ?[:.)] ?)?(?:\*\*)? ?(\d+) ?([-+*/x×X·∗÷−–—＋]) ?(\d+) ?= ?(\d+) ?[.,;]?$/i;
const REMAINING_RE = /^remaining(?: numbers)?(?: are)? ?:? ?((?:\d+(?: ?, ?| |, and | and ))*\d+)? ?\.?$/i;

/**
 * The action that a step text denotes in `state`, or why there is none. Accepts the rendered
 * format with extra spaces, `×`/`÷`/`−` variants and an optional `## `/`Step k:` prefix; operands
 * are found among the remaining numbers (with duplicate values, the slots whose removal gives the
 * `Remaining:` order), and the stated result and `Remaining:` list (as a multiset), when present,
 * must agree with the arithmetic. A step containing `\boxed{E}` is the answer action of the slot
 * whose expression is E, else whose value and literals match E's, else whose value matches; it is
 * an error when that slot may not be answered ({@link canAnswer}: a bare leftover number that is
 * not the target). Steps of trees recorded before that rule can therefore stop replaying at such a box.
 */
export function stepToAction(state: CountdownState, step: string): number | { readonly error: string } {
  if (state.answered !== null) return { error: 'the problem is already answered' };
  const text = step.trim();
  if (text.includes('\\boxed{')) return answerAction(state, text);
  // A step is one short sentence; anything longer is not one, and the cap bounds the work per call.
  if (text.length > MAX_STEP_CHARS) return { error: `step longer than ${MAX_STEP_CHARS} characters` };
  // Our own rendering has single spaces only; skip the rewrite on that hot path (replay runs per policy call).
  const flat = /[^\S ]| {2}/.test(text) ? text.replace(/\s+/g, ' ') : text;
  const at = flat.toLowerCase().indexOf('remaining');
  const m = COMBINE_RE.exec((at < 0 ? flat : flat.slice(0, at)).trim());
  const tail = at < 0 ? null : REMAINING_RE.exec(flat.slice(at).trim());
  if (m === null || (at >= 0 && tail === null)) return { error: 'not of the form "Step k: a op b = c. Remaining: ..."' };
  const a = Number(m[1]);
  const symbol = m[2] ?? '+';
  const op = OPS.indexOf((OP_VARIANTS[symbol] ?? symbol) as Op);
  const b = Number(m[3]);
  const claimed = Number(m[4]);
  const numbers = state.numbers;
  if (!numbers.includes(a)) return { error: `${a} is not among the remaining numbers ${numbers.join(', ')}` };
  if (numbers.filter((v) => v === b).length < (a === b ? 2 : 1)) {
    return { error: `${b} is not among the remaining numbers ${numbers.join(', ')} (besides ${a})` };
  }
  const value = combineValue(a, op, b);
  if (value < 0) {
    const why = op === 1 ? 'the result would not be positive' : op === 3 ? (b === 1 ? 'dividing by 1 is not a step' : `${a} is not divisible by ${b}`) : 'the result is too large';
    return { error: `${a} ${OPS[op]} ${b}: ${why}` };
  }
  if (value !== claimed) return { error: `${a} ${OPS[op]} ${b} is ${value}, not ${claimed}` };
  const listedText = tail?.[1];
  const listed = listedText === undefined ? null : (listedText.match(/\d+/g) ?? []).map(Number);
  // With duplicate values several slot pairs fit; the `Remaining:` order tells them apart.
  let first = -1;
  let firstRest: number[] = [];
  for (let ia = 0; ia < numbers.length; ia++) {
    if (numbers[ia] !== a) continue;
    for (let ib = 0; ib < numbers.length; ib++) {
      if (ib === ia || numbers[ib] !== b) continue;
      const rest = [value, ...numbers.filter((_, k) => k !== ia && k !== ib)];
      const [i, j] = op === 0 || op === 2 ? [Math.min(ia, ib), Math.max(ia, ib)] : [ia, ib];
      const action = (i * MAX_NUMBERS + j) * 4 + op;
      if (listed === null || (listed.length === rest.length && listed.every((v, k) => v === rest[k]))) return action;
      if (first < 0) [first, firstRest] = [action, rest];
    }
  }
  const sorted = (xs: readonly number[]): number[] => [...xs].sort((x, y) => x - y);
  const want = sorted(firstRest);
  const got = sorted(listed ?? []);
  // The same numbers listed in another order are fine: take the first matching slots.
  if (want.length === got.length && want.every((v, k) => v === got[k])) return first;
  return { error: `remaining numbers would be ${firstRest.join(', ')}, not ${(listed ?? []).join(', ')}` };
}

function answerAction(state: CountdownState, text: string): number | { readonly error: string } {
  const action = matchAnswer(state, text);
  if (typeof action !== 'number' || canAnswer(state, action - ANSWER_OFFSET)) return action;
  const p = action - ANSWER_OFFSET;
  return { error: `boxes ${state.exprs[p] ?? ''} = ${state.numbers[p] ?? ''}, which is neither the target ${state.target} nor the last number left` };
}

function matchAnswer(state: CountdownState, text: string): number | { readonly error: string } {
  const boxed = extractLastBoxed(text);
  if (boxed === null) return { error: 'unclosed \\boxed{' };
  const compact = boxed.replace(/\s+/g, '');
  const exact = state.exprs.indexOf(compact);
  if (exact >= 0) return ANSWER_OFFSET + exact;
  // Same value from the same literals, written differently (e.g. extra parentheses or reordered).
  const given = evaluateExpression(compact);
  if (given.ok && given.value.den === 1n) {
    const key = [...given.numbers].sort((x, y) => x - y).join(',');
    for (let p = 0; p < state.numbers.length; p++) {
      if (BigInt(state.numbers[p] ?? 0) !== given.value.num) continue;
      const own = evaluateExpression(state.exprs[p] ?? '', { maxLength: 10_000 });
      if (own.ok && [...own.numbers].sort((x, y) => x - y).join(',') === key) return ANSWER_OFFSET + p;
    }
    // Duplicate values can leave the replayed slot with a different (equally valid) expression.
    const p = state.numbers.findIndex((v) => BigInt(v) === given.value.num);
    if (p >= 0) return ANSWER_OFFSET + p;
  }
  return { error: `boxed expression ${boxed} does not match any remaining number (${state.exprs.join(', ')})` };
}

/**
 * Rebuilds the state reached by a list of step texts (from any policy, LLMs included), or
 * `{ error }` naming the first step that cannot be parsed or is illegal. With duplicate values the
 * `Remaining:` order picks the slots, so `numbers` agree with the original search's, though `exprs`
 * of equal values may be swapped. `answered` is the boxed text as written.
 */
export function replaySteps(problem: Problem, steps: readonly string[]): CountdownState | { readonly error: string } {
  let state: CountdownState;
  try {
    state = initialState(problem);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  for (let k = 0; k < steps.length; k++) {
    const action = stepToAction(state, steps[k] ?? '');
    if (typeof action !== 'number') return { error: `step ${k + 1} (${JSON.stringify(steps[k])}): ${action.error}` };
    state = applyAction(state, action).state;
    // Record what the text boxed, which may differ from the slot's expression (see stepToAction).
    if (state.answered !== null) state = { ...state, answered: (extractLastBoxed(steps[k] ?? '') ?? '').trim() };
  }
  return state;
}

/** Features per slot (see {@link encodeState}). */
export const SLOT_FEATURES = 8;
/** Global features after the slots (see {@link encodeState}). */
export const GLOBAL_FEATURES = 4;
/** Length of the feature vector written by {@link encodeState}: 6 × 8 + 4 = 52. */
export const FEATURE_COUNT = MAX_NUMBERS * SLOT_FEATURES + GLOBAL_FEATURES;

// log10(1 + x) / 6, clipped to 1: values up to a million map onto [0, 1].
const logScale = (x: number): number => Math.min(Math.log10(1 + Math.max(x, 0)) / 6, 1);

/**
 * Writes FEATURE_COUNT floats at `out[offset]`, all in [0, 1]. For each slot s (0–5), at
 * `offset + s * 8` (all zero when the slot is empty):
 * 0 present · 1 min(v / target, 2) / 2 · 2 log10(1 + v) / 6 (clipped) · 3 v equals target ·
 * 4 v divides target · 5 v greater than target · 6 log10(1 + |target − v|) / 6 (clipped) ·
 * 7 one legal combine of v with another slot reaches the target.
 * Then, at `offset + 48`: 48 log10(1 + target) / 6 · 49 step / MAX_NUMBERS (clipped) ·
 * 50 occupied slots / MAX_NUMBERS · 51 answered.
 */
export function encodeState(state: CountdownState, out: Float32Array, offset = 0): void {
  out.fill(0, offset, offset + FEATURE_COUNT);
  const t = state.target;
  const nums = state.numbers;
  const n = Math.min(nums.length, MAX_NUMBERS);
  for (let s = 0; s < n; s++) {
    const v = nums[s] ?? 0;
    const base = offset + s * SLOT_FEATURES;
    out[base] = 1;
    out[base + 1] = t > 0 ? Math.min(v / t, 2) / 2 : 0;
    out[base + 2] = logScale(v);
    out[base + 3] = v === t ? 1 : 0;
    out[base + 4] = v > 0 && t % v === 0 ? 1 : 0;
    out[base + 5] = v > t ? 1 : 0;
    out[base + 6] = logScale(Math.abs(t - v));
    let reaches = 0;
    for (let k = 0; k < n && reaches === 0; k++) {
      if (k === s) continue;
      const w = nums[k] ?? 0;
      for (let op = 0; op < 4; op++) if (combineValue(v, op, w) === t || combineValue(w, op, v) === t) reaches = 1;
    }
    out[base + 7] = reaches;
  }
  const g = offset + MAX_NUMBERS * SLOT_FEATURES;
  out[g] = logScale(t);
  out[g + 1] = Math.min(state.step / MAX_NUMBERS, 1);
  out[g + 2] = n / MAX_NUMBERS;
  out[g + 3] = state.answered === null ? 0 : 1;
}

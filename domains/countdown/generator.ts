import { AppError } from '../../operators/common/errors.js';
import { stableId } from '../../operators/common/hash.js';
import { createRng, deriveSeed, type Rng } from '../../operators/common/rng.js';
import type { Problem } from '../../schemas/problem.js';
import { ACTION_COUNT, ANSWER_OFFSET, MAX_NUMBERS, applyAction, initialState, legalMask, type CountdownState } from './actions.js';

/** Settings for {@link generateCountdownProblems}. */
export interface CountdownGeneratorConfig {
  readonly count: number;
  readonly seed: number;
  /** How many numbers each problem gives, 3–6 (default 4). Also the problem's `difficulty`. */
  readonly numbers?: number;
  /** Smallest target (default 10 for 3–4 numbers; 100 for 5–6, where small targets are mostly easy). */
  readonly targetMin?: number;
  /** Largest target (default 100 for 3 numbers, 999 otherwise, as in the TV game). */
  readonly targetMax?: number;
}

/** The TV game's cards: two each of 1–10 and one each of 25, 50, 75, 100; numbers are drawn without replacement. */
export const COUNTDOWN_POOL: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25, 50, 75, 100];

// A draw whose construction misses the target range is redrawn; past this many the settings are infeasible.
const MAX_ATTEMPTS = 2000;

/**
 * Deterministic Countdown problems, each with a guaranteed solution: `numbers` cards are drawn,
 * then random legal combines over a random subset of at least max(2, numbers − 1) of them build the
 * target (in [targetMin, targetMax] and unequal to every given number). Problem i depends only on
 * (seed, settings, i), so a longer run extends a shorter one. The construction is kept as
 * `solution` (step texts in the rendered format) and `meta_json.solution` (one expression).
 *
 * Measured on 500 problems per setting with the defaults: share solvable in one combine is 54% (3
 * numbers), 16% (4), 4% (5), 3% (6); construction length averages 1.5, 2.5, 3.5, 4.5 combines.
 *
 * @example generateCountdownProblems({ count: 100, seed: 7, numbers: 4 })
 */
export function generateCountdownProblems(config: CountdownGeneratorConfig): Problem[] {
  const n = config.numbers ?? 4;
  const targetMin = config.targetMin ?? (n >= 5 ? 100 : 10);
  const targetMax = config.targetMax ?? (n <= 3 ? 100 : 999);
  if (!Number.isInteger(config.count) || config.count < 0) throw new AppError('config', `count must be a non-negative integer, got ${config.count}`);
  if (!Number.isInteger(n) || n < 3 || n > MAX_NUMBERS) throw new AppError('config', `numbers must be 3–${MAX_NUMBERS}, got ${n}`);
  if (!Number.isSafeInteger(targetMin) || !Number.isSafeInteger(targetMax) || targetMin < 1 || targetMin > targetMax) {
    throw new AppError('config', `need 1 <= targetMin <= targetMax, got ${targetMin}..${targetMax}`);
  }
  const settings = { numbers: n, targetMin, targetMax };
  const problems: Problem[] = [];
  for (let index = 0; index < config.count; index++) {
    problems.push(generateOne(config.seed, index, settings));
  }
  return problems;
}

interface Settings {
  readonly numbers: number;
  readonly targetMin: number;
  readonly targetMax: number;
}

function generateOne(seed: number, index: number, settings: Settings): Problem {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = createRng(deriveSeed(seed, 'countdown', settings.numbers, settings.targetMin, settings.targetMax, index, attempt));
    const numbers = draw(rng, settings.numbers);
    const built = construct(rng, numbers);
    const target = built.state.numbers[0] ?? 0;
    if (target < settings.targetMin || target > settings.targetMax || numbers.includes(target)) continue;
    const answer = applyAction({ ...built.state, target }, ANSWER_OFFSET);
    const expression = built.state.exprs[0] ?? '';
    return {
      id: stableId('countdown', seed, index, settings),
      domain: 'countdown',
      source: 'countdown-generator',
      question: `Using the numbers ${numbers.join(', ')}, make ${target}. You may use +, -, *, / and each number at most once.`,
      answer: String(target),
      solution: [...built.steps, answer.step].join('\n\n'),
      numbers,
      target,
      difficulty: numbers.length,
      meta_json: JSON.stringify({ solution: expression }),
    };
  }
  throw new AppError('config', `no countdown problem with ${settings.numbers} numbers and target in ${settings.targetMin}..${settings.targetMax} after ${MAX_ATTEMPTS} draws`);
}

function draw(rng: Rng, n: number): number[] {
  const pool = [...COUNTDOWN_POOL];
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(pool.splice(rng.int(pool.length), 1)[0] ?? 1);
  return out;
}

/** Combines a random subset of the drawn numbers down to one value, which ends up in slot 0. */
function construct(rng: Rng, numbers: readonly number[]): { state: CountdownState; steps: string[] } {
  const n = numbers.length;
  const size = Math.max(2, n - 1) + rng.int(n - Math.max(2, n - 1) + 1);
  // inSet[k] marks slots that belong to the subset being combined (kept parallel to the slots).
  let inSet = numbers.map(() => false);
  for (let chosen = 0; chosen < size; ) {
    const k = rng.int(n);
    if (!inSet[k]) {
      inSet[k] = true;
      chosen++;
    }
  }
  // The target is unknown while constructing; 0 never equals a positive value so nothing is "solved" early.
  let state: CountdownState = initialState({ id: 'gen', domain: 'countdown', source: 'gen', question: '-', answer: '0', numbers: [...numbers], target: 0 });
  const steps: string[] = [];
  const mask = new Float32Array(ACTION_COUNT);
  for (let combines = 0; combines < size - 1; combines++) {
    legalMask(state, mask);
    const candidates: number[] = [];
    for (let a = 0; a < ANSWER_OFFSET; a++) {
      if (mask[a] !== 1) continue;
      const pair = Math.floor(a / 4);
      if (inSet[Math.floor(pair / MAX_NUMBERS)] && inSet[pair % MAX_NUMBERS]) candidates.push(a);
    }
    const action = candidates[rng.int(candidates.length)] ?? -1; // '+' of two subset slots is always legal
    const pair = Math.floor(action / 4);
    const [i, j] = [Math.floor(pair / MAX_NUMBERS), pair % MAX_NUMBERS];
    const applied = applyAction(state, action);
    inSet = [true, ...inSet.filter((_, k) => k !== i && k !== j)];
    state = applied.state;
    steps.push(applied.step);
  }
  return { state, steps };
}

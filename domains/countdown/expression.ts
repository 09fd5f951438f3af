/** An exact rational number: `den > 0`, `gcd(|num|, den) = 1`. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** Bounds that keep parsing linear and the recursion shallow whatever the input. */
export interface ExpressionLimits {
  /** Longest accepted input, in characters (default 200). */
  readonly maxLength?: number;
  /** Deepest accepted parenthesis nesting (default 32). */
  readonly maxDepth?: number;
}

/** The outcome of {@link evaluateExpression}: the exact value and the literals used, or why it is invalid. */
export type Evaluation =
  | { readonly ok: true; readonly value: Rational; readonly numbers: readonly number[] }
  | { readonly ok: false; readonly reason: string };

const DEFAULT_MAX_LENGTH = 200;
const DEFAULT_MAX_DEPTH = 32;

/** Thrown inside the parser only; always caught and turned into `{ ok: false }`. */
class ParseFailure {
  constructor(readonly reason: string) {}
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

function gcd(a: bigint, b: bigint): bigint {
  let x = abs(a);
  let y = abs(b);
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function rational(num: bigint, den: bigint): Rational {
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

function combine(a: Rational, op: string, b: Rational): Rational {
  switch (op) {
    case '+':
      return rational(a.num * b.den + b.num * a.den, a.den * b.den);
    case '-':
      return rational(a.num * b.den - b.num * a.den, a.den * b.den);
    case '*':
      return rational(a.num * b.num, a.den * b.den);
    default:
      if (b.num === 0n) throw new ParseFailure('division by zero');
      return rational(a.num * b.den, a.den * b.num);
  }
}

/**
 * Parses and evaluates a Countdown final answer: digits, `+ - * /`, parentheses and spaces only
 * (no unary minus, no leading zeros), with exact BigInt rational arithmetic.
 *
 * Never throws and runs in time linear in the (capped) input length, so it is safe on any text a
 * policy produces. Use {@link rationalEquals} / {@link isInteger} on the value.
 *
 * @example evaluateExpression('(75-25)*2') // { ok: true, value: { num: 100n, den: 1n }, numbers: [75, 25, 2] }
 */
export function evaluateExpression(text: string, limits: ExpressionLimits = {}): Evaluation {
  const maxLength = limits.maxLength ?? DEFAULT_MAX_LENGTH;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (text.length > maxLength) return { ok: false, reason: `expression longer than ${maxLength} characters` };
  const numbers: number[] = [];
  let pos = 0;

  const skipSpaces = (): void => {
    while (pos < text.length && text[pos] === ' ') pos++;
  };
  const describe = (): string => (pos >= text.length ? 'end of expression' : `'${text[pos] ?? ''}' at position ${pos + 1}`);

  // Recursive descent; recursion happens only at '(' so its depth is bounded by maxDepth.
  const parseSum = (depth: number): Rational => {
    let value = parseProduct(depth);
    for (;;) {
      skipSpaces();
      const op = text[pos];
      if (op !== '+' && op !== '-') return value;
      pos++;
      value = combine(value, op, parseProduct(depth));
    }
  };
  const parseProduct = (depth: number): Rational => {
    let value = parseAtom(depth);
    for (;;) {
      skipSpaces();
      const op = text[pos];
      if (op !== '*' && op !== '/') return value;
      pos++;
      value = combine(value, op, parseAtom(depth));
    }
  };
  const parseAtom = (depth: number): Rational => {
    skipSpaces();
    const ch = text[pos];
    if (ch === '(') {
      if (depth >= maxDepth) throw new ParseFailure(`parentheses nested deeper than ${maxDepth}`);
      pos++;
      const value = parseSum(depth + 1);
      skipSpaces();
      if (text[pos] !== ')') throw new ParseFailure(`unbalanced parentheses: expected ')' but found ${describe()}`);
      pos++;
      return value;
    }
    if (ch !== undefined && ch >= '0' && ch <= '9') {
      const start = pos;
      while (pos < text.length && (text[pos] ?? '') >= '0' && (text[pos] ?? '') <= '9') pos++;
      const digits = text.slice(start, pos);
      if (digits.length > 1 && digits[0] === '0') throw new ParseFailure(`number with a leading zero: ${digits}`);
      const n = Number(digits);
      if (!Number.isSafeInteger(n)) throw new ParseFailure(`number too large: ${digits}`);
      numbers.push(n);
      return { num: BigInt(digits), den: 1n };
    }
    if (ch === undefined) throw new ParseFailure(numbers.length === 0 ? 'empty expression' : 'expected a number but found end of expression');
    if (ch === ')') throw new ParseFailure(`unbalanced parentheses: unexpected ')' at position ${pos + 1}`);
    if ('+-*/'.includes(ch)) throw new ParseFailure(`expected a number but found ${describe()}`);
    throw new ParseFailure(`invalid character ${describe()}`);
  };

  try {
    const value = parseSum(0);
    skipSpaces();
    if (pos < text.length) {
      const ch = text[pos] ?? '';
      if (ch === ')') throw new ParseFailure(`unbalanced parentheses: unexpected ')' at position ${pos + 1}`);
      if (/[0-9(]/.test(ch)) throw new ParseFailure(`expected an operator but found ${describe()}`);
      throw new ParseFailure(`invalid character ${describe()}`);
    }
    return { ok: true, value, numbers };
  } catch (error) {
    if (error instanceof ParseFailure) return { ok: false, reason: error.reason };
    throw error;
  }
}

/** True when two reduced rationals are equal. */
export const rationalEquals = (a: Rational, b: Rational): boolean => a.num === b.num && a.den === b.den;

/** True when the rational is an integer. */
export const isInteger = (r: Rational): boolean => r.den === 1n;

/** `7`, or `15/4` for a non-integer. */
export const formatRational = (r: Rational): string => (r.den === 1n ? r.num.toString() : `${r.num}/${r.den}`);

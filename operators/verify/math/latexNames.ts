import type { RelOp } from './ast.js';

/** The LaTeX vocabulary the parser (`parse.ts`) knows. */

/** Relation symbols and commands, normalized. */
export const RELATIONS: Readonly<Record<string, RelOp>> = {
  '=': 'eq', '==': 'eq', '<': 'lt', '>': 'gt', '<=': 'le', '>=': 'ge', '!=': 'ne',
  le: 'le', leq: 'le', leqslant: 'le', leqq: 'le', ge: 'ge', geq: 'ge', geqslant: 'ge', geqq: 'ge',
  lt: 'lt', gt: 'gt', ne: 'ne', neq: 'ne', approx: 'approx', simeq: 'approx', sim: 'approx', doteq: 'approx',
};
/** Functions applied like `\\sin x`. */
export const FUNCTIONS = new Set(['sin', 'cos', 'tan', 'sec', 'csc', 'cot', 'arcsin', 'arccos', 'arctan', 'arcsec', 'arccsc', 'arccot', 'sinh', 'cosh', 'tanh', 'ln', 'log', 'exp', 'lg']);
/** `\\sin^{-1}` is `\\arcsin`. */
export const INVERSE: Readonly<Record<string, string>> = { sin: 'arcsin', cos: 'arccos', tan: 'arctan', sec: 'arcsec', csc: 'arccsc', cot: 'arccot' };
/** Greek letters: variables. */
export const GREEK = new Set(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'varepsilon', 'zeta', 'eta', 'theta', 'vartheta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi', 'rho', 'sigma', 'tau', 'upsilon', 'phi', 'varphi', 'chi', 'psi', 'omega', 'Gamma', 'Delta', 'Theta', 'Lambda', 'Xi', 'Pi', 'Sigma', 'Phi', 'Psi', 'Omega', 'ell']);
/** Letters read as function names when directly followed by `(` (`f(x)`, `P(2)`): elsewhere `a(b)` is a product. */
export const FUNCTION_LETTERS = new Set(['f', 'g', 'h', 'F', 'G', 'H', 'P', 'Q', 'W']);
/** Environments read as matrices. */
export const MATRIX_ENVS = new Set(['matrix', 'pmatrix', 'bmatrix', 'Bmatrix', 'vmatrix', 'Vmatrix', 'smallmatrix', 'array']);
/** Explicit multiplication signs. */
export const MUL_OPS = new Set(['*', 'cdot', 'times', 'ast']);

import { ComputeEngine } from '@cortex-js/compute-engine';
import { casRefusal } from './casGuard.js';
import type { CasOracle } from './compare.js';

// The package does not re-export its expression type at the root, so derive it from parse().
type BoxedExpression = ReturnType<ComputeEngine['parse']>;

const NON_VALUE_HEADS = new Set(['Equal', 'Less', 'Greater', 'LessEqual', 'GreaterEqual', 'Tuple', 'List', 'Set', 'Sequence', 'Delimiter', 'Interval', 'Matrix', 'Error', 'Pair', 'Triple', 'Single']);

/**
 * A CAS oracle backed by compute-engine, for the scalar pairs the inline checks cannot decide
 * (`compareAnswers` with `deps.cas`). Blocking and unbounded in time by nature: it is only ever
 * called inside a CAS worker thread that is terminated past its deadline (`streams/verifier/`).
 * Every question runs in its own scope, pushed and popped around it, so what one pair declares
 * (`r_{0}` makes `r` a list) never changes how the next pair parses: verdicts do not depend on
 * what was judged before.
 */
export function createCasOracle(config: { readonly maxCasChars: number; readonly relTolerance: number }): CasOracle {
  const ce = new ComputeEngine();
  return (gold, pred) => {
    if (casRefusal(gold, config.maxCasChars) !== null || casRefusal(pred, config.maxCasChars) !== null) return undefined;
    ce.pushScope();
    try {
      return decide(ce.parse(gold), ce.parse(pred), config.relTolerance);
    } catch {
      return undefined;
    } finally {
      ce.popScope();
    }
  };
}

function decide(a: BoxedExpression, b: BoxedExpression, tol: number): boolean | undefined {
  if (!a.isValid || !b.isValid || NON_VALUE_HEADS.has(a.operator) || NON_VALUE_HEADS.has(b.operator)) return undefined;
  if (a.isSame(b) || a.isEqual(b) === true) return true;
  if (a.unknowns.length > 0 || b.unknowns.length > 0) return undefined;
  const x = a.N();
  const y = b.N();
  const values = [x.re, x.im, y.re, y.im];
  if (!values.every(Number.isFinite)) return undefined;
  const scale = Math.max(1, Math.hypot(x.re, x.im), Math.hypot(y.re, y.im));
  return Math.hypot(x.re - y.re, x.im - y.im) <= tol * scale;
}

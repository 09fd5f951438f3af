import type { Domain } from '../../domains/domain.js';
import type { MetricLabels, Metrics } from '../../operators/common/metrics.js';
import type { Problem } from '../../schemas/problem.js';
import { withOverrides } from './delegate.js';
import { verifierId, type Verdict, type Verifier } from '../../operators/verify/verifier.js';

/** What a verdict was, as the `verdict` label of `astro_verifier_verdicts_total`. */
export type VerdictLabel = 'correct' | 'wrong' | 'no_answer' | 'error';

const labelOf = (verdict: Verdict): VerdictLabel => (verdict.correct ? 'correct' : verdict.extracted === null ? 'no_answer' : 'wrong');

/** Which check decided a verdict, when the verifier says (math: `string`, `cas`, `timeout`, ...). */
const methodOf = (verdict: Verdict): string | undefined => {
  const method = (verdict as { readonly method?: unknown }).method;
  return typeof method === 'string' ? method : undefined;
};

/**
 * The verifier, counting each verdict as `verify.verdicts{verifier, method, verdict}`. `method` is
 * the verdict's own `method` field when the verifier reports one (which comparison decided:
 * string, numeric, symbolic, ...), else the verifier's name. Both `verify` and `verifyNow` are
 * wrapped (callers prefer `verifyNow`, see Verifier). Label objects are built once per series.
 */
export function countVerdicts(verifier: Verifier, metrics: Metrics): Verifier {
  const id = verifierId(verifier);
  const labels = new Map<string, MetricLabels>();
  const count = (method: string | undefined, verdict: VerdictLabel): void => {
    const m = method ?? verifier.name;
    const key = `${m}\u0000${verdict}`;
    let l = labels.get(key);
    if (l === undefined) {
      l = { verifier: id, method: m, verdict };
      labels.set(key, l);
    }
    metrics.increment('verify.verdicts', 1, l);
  };
  const overrides: Partial<Verifier> = {
    verify: async (problem: Problem, response: string): Promise<Verdict> => {
      try {
        const verdict = await verifier.verify(problem, response);
        count(methodOf(verdict), labelOf(verdict));
        return verdict;
      } catch (error) {
        count(undefined, 'error');
        throw error;
      }
    },
  };
  const now = verifier.verifyNow;
  if (now !== undefined) {
    overrides.verifyNow = (problem: Problem, response: string): Verdict => {
      try {
        const verdict = now.call(verifier, problem, response);
        count(methodOf(verdict), labelOf(verdict));
        return verdict;
      } catch (error) {
        count(undefined, 'error');
        throw error;
      }
    };
  }
  return withOverrides(verifier, overrides);
}

/**
 * The verifier, counting `search.verdict_timeouts`: search-time verdicts (terminals and rollouts)
 * "not equal" only because the verifier's own bound ran out (method `timeout`, the math
 * verifier's CAS pool past its 2 s). The verify stage and replay count theirs through `labelTree`.
 * Exported as `astro_verify_timeouts_total{stage}`; unlabelled, so run summaries and manifests
 * read it too.
 */
export function countSearchTimeouts(verifier: Verifier, metrics: Metrics): Verifier {
  const seen = (verdict: Verdict): Verdict => {
    if (methodOf(verdict) === 'timeout') metrics.increment('search.verdict_timeouts');
    return verdict;
  };
  const now = verifier.verifyNow;
  return withOverrides(verifier, {
    verify: async (problem: Problem, response: string): Promise<Verdict> => seen(await verifier.verify(problem, response)),
    ...(now === undefined ? {} : { verifyNow: (problem: Problem, response: string): Verdict => seen(now.call(verifier, problem, response)) }),
  });
}

/** `domainOf` whose domains' verifiers count their verdicts (one wrapped domain per name). */
export function countDomainVerdicts(domainOf: (name: string) => Domain, metrics: Metrics): (name: string) => Domain {
  const wrapped = new Map<string, Domain>();
  return (name) => {
    let domain = wrapped.get(name);
    if (domain === undefined) {
      const inner = domainOf(name);
      domain = withOverrides(inner, { verifier: countVerdicts(inner.verifier, metrics) });
      wrapped.set(name, domain);
    }
    return domain;
  };
}

import { compareAnswers, DEFAULT_COMPARE_CONFIG, type AnswerText, type CompareConfig, type Comparison } from '../../operators/verify/math/compare.js';
import { createCasOracle } from '../../operators/verify/math/casOracle.js';

/** One pair for a CAS worker (casWorker.js). */
export interface CasRequest {
  readonly id: number;
  readonly gold: AnswerText;
  readonly pred: AnswerText;
  readonly config: CompareConfig;
}

/** A CAS worker's answer: the comparison, or why the worker itself failed on the pair. */
export type CasReply = { readonly id: number; readonly comparison: Comparison } | { readonly id: number; readonly error: string };

/**
 * What a CAS worker runs for each request: the full comparison with a compute-engine oracle for
 * what the inline checks leave open. One engine per worker; every question in its own scope.
 */
export function createCasTask(): (request: CasRequest) => CasReply {
  const oracles = new Map<string, ReturnType<typeof createCasOracle>>();
  // Built and asked once at start, so the first real pair does not pay for the engine's setup.
  const warm = createCasOracle(DEFAULT_COMPARE_CONFIG);
  warm('x+1', '1+x');
  oracles.set(`${DEFAULT_COMPARE_CONFIG.maxCasChars}/${DEFAULT_COMPARE_CONFIG.relTolerance}`, warm);
  return (request) => {
    try {
      // The oracle depends on two settings only; one engine serves every request with them.
      const key = `${request.config.maxCasChars}/${request.config.relTolerance}`;
      let oracle = oracles.get(key);
      if (oracle === undefined) {
        oracle = createCasOracle(request.config);
        oracles.set(key, oracle);
      }
      return { id: request.id, comparison: compareAnswers(request.gold, request.pred, request.config, { cas: oracle }) };
    } catch (error) {
      return { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
  };
}

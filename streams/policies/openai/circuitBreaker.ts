import { AppError } from '../../../operators/common/errors.js';

/** When the breaker opens and for how long it stays open. */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit rejects calls before letting one probe through (ms). */
  readonly cooldownMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerConfig = { failureThreshold: 8, cooldownMs: 2_000 };

export type CircuitState = 'closed' | 'open' | 'half-open';

/** A closed/open/half-open breaker around a flaky backend; see {@link createCircuitBreaker}. */
export interface CircuitBreaker {
  /** Throws a retriable `policy` AppError while open; otherwise lets the call proceed. */
  check(): void;
  success(): void;
  failure(): void;
  state(): CircuitState;
  /** Times the circuit has opened. */
  opened(): number;
}

/**
 * A circuit breaker: after `failureThreshold` consecutive failures the backend is given
 * `cooldownMs` of rest (calls fail fast, as retriable errors, so callers back off instead of
 * piling up timeouts); then a single probe decides between closing and re-opening.
 */
export function createCircuitBreaker(config: CircuitBreakerConfig, clock: () => number): CircuitBreaker {
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let opened = 0;
  // A half-open circuit lets exactly one probe through; the others still fail fast.
  let probing = false;
  const open = (): void => {
    state = 'open';
    openedAt = clock();
    opened += 1;
    probing = false;
  };
  return {
    check(): void {
      if (state === 'open' && clock() - openedAt >= config.cooldownMs) state = 'half-open';
      if (state === 'closed') return;
      if (state === 'half-open' && !probing) {
        probing = true;
        return;
      }
      throw new AppError('policy', `circuit open after ${failures} consecutive failures`, { retriable: true });
    },
    success(): void {
      failures = 0;
      probing = false;
      state = 'closed';
    },
    failure(): void {
      failures += 1;
      if (state === 'half-open' || (state === 'closed' && failures >= config.failureThreshold)) open();
    },
    state: () => state,
    opened: () => opened,
  };
}

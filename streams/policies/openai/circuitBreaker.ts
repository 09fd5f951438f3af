import { AppError } from '../../../operators/common/errors.js';

/** When the breaker opens, how often it probes, and how long an outage is ridden out. */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit holds calls back before letting one probe through (ms). */
  readonly cooldownMs: number;
  /**
   * How long the server may keep failing (from the first failure of the streak) before held calls
   * give up with a non-retriable error (ms). Outages shorter than this cost time, not problems.
   */
  readonly outageMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerConfig = { failureThreshold: 8, cooldownMs: 2_000, outageMs: 300_000 };

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What the breaker needs from outside: time, and a way to wait. */
export interface CircuitBreakerDeps {
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A closed/open/half-open breaker that pauses callers while the backend is down; see {@link createCircuitBreaker}. */
export interface CircuitBreaker {
  /**
   * Resolves when a call may go out: at once while closed; while open, once a probe has brought
   * the circuit back (or this caller is the probe). Rejects with a non-retriable `policy` error
   * when the server has been failing for longer than `outageMs`.
   */
  admit(): Promise<void>;
  success(): void;
  /**
   * A failed call. `retryAfterMs`: the server asked for a pause (`Retry-After`), so no call goes
   * out before it has passed (bounded by the outage limit), whatever the circuit's state.
   */
  failure(retryAfterMs?: number): void;
  state(): CircuitState;
  /** Times the circuit has opened. */
  opened(): number;
  /** How long the current failure streak has lasted (ms); 0 when the last call succeeded. */
  failingForMs(): number;
}

/**
 * A circuit breaker that rides out outages: after `failureThreshold` consecutive failures the
 * circuit opens and every new call waits (instead of failing and using up its retries); every
 * `cooldownMs` one probe goes through, and its success releases everyone at once. Only when the
 * failure streak has lasted `outageMs` do waiting calls fail, naming how long the server was down
 * (a server that never comes back still ends the run, problem by problem, into the DLQ). A
 * `Retry-After` pause holds every call until it has passed, within the same outage limit.
 */
export function createCircuitBreaker(config: CircuitBreakerConfig, deps: CircuitBreakerDeps): CircuitBreaker {
  let state: CircuitState = 'closed';
  let failures = 0;
  let failingSince = 0;
  let openedAt = 0;
  let opened = 0;
  // A half-open circuit lets exactly one probe through; the others wait for its outcome.
  let probing = false;
  // No call goes out before this (epoch ms): the pause a server asked for with Retry-After.
  let pausedUntil = 0;
  // Resolved (and replaced) on every outcome, so waiters wake when the probe answers, not on a poll.
  let changed = signal();
  const notify = (): void => {
    changed.resolve();
    changed = signal();
  };
  const outageError = (downMs: number): AppError =>
    new AppError('policy', `server unavailable for ${downMs} ms (${failures} consecutive failures; the outage limit is ${config.outageMs} ms, --outage-ms)`, { retriable: false });
  const open = (): void => {
    state = 'open';
    openedAt = deps.clock();
    opened += 1;
    probing = false;
  };

  return {
    async admit(): Promise<void> {
      for (;;) {
        const now = deps.clock();
        if (now < pausedUntil) {
          const downMs = failures === 0 ? 0 : now - failingSince;
          if (downMs >= config.outageMs) throw outageError(downMs);
          await Promise.race([changed.promise, deps.sleep(Math.max(1, Math.min(pausedUntil - now, config.outageMs - downMs)))]);
          continue;
        }
        if (state === 'closed') return;
        if (state === 'open' && now - openedAt >= config.cooldownMs) state = 'half-open';
        // The probe goes even past the outage limit: a server that came back is noticed.
        if (state === 'half-open' && !probing) {
          probing = true;
          return;
        }
        const downMs = now - failingSince;
        if (downMs >= config.outageMs) throw outageError(downMs);
        const untilProbe = state === 'open' ? openedAt + config.cooldownMs - now : config.cooldownMs;
        await Promise.race([changed.promise, deps.sleep(Math.max(1, Math.min(untilProbe, config.outageMs - downMs)))]);
      }
    },
    success(): void {
      failures = 0;
      pausedUntil = 0;
      probing = false;
      state = 'closed';
      notify();
    },
    failure(retryAfterMs?: number): void {
      if (failures === 0) failingSince = deps.clock();
      if (retryAfterMs !== undefined) pausedUntil = Math.max(pausedUntil, deps.clock() + retryAfterMs);
      failures += 1;
      if (state === 'half-open' || (state === 'closed' && failures >= config.failureThreshold)) open();
      notify();
    },
    state: () => state,
    opened: () => opened,
    failingForMs: () => (failures === 0 ? 0 : deps.clock() - failingSince),
  };
}

function signal(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((ok) => {
    resolve = ok;
  });
  return { promise, resolve };
}

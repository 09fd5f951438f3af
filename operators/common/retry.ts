import { AppError, isProgrammerError, toAppError } from './errors.js';

/** Backoff settings (kafkajs-style defaults: 300 ms initial, ×2, ±20% jitter, 5 tries, 30 s cap). */
export interface RetryConfig {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly factor: number;
  /** Fraction of the delay added or removed at random (0.2 = ±20%). */
  readonly jitter: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryConfig = { attempts: 5, initialDelayMs: 300, factor: 2, jitter: 0.2, maxDelayMs: 30_000 };

export interface RetryDeps {
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform [0,1); injected so tests are deterministic. */
  readonly random: () => number;
  /** Called before each retry (logging, metrics). */
  readonly onRetry?: (error: AppError, attempt: number, delayMs: number) => void;
}

/** Delay before retry number `attempt` (1-based). */
export function backoffDelayMs(config: RetryConfig, attempt: number, random: () => number): number {
  const base = Math.min(config.maxDelayMs, config.initialDelayMs * config.factor ** (attempt - 1));
  return Math.max(0, Math.round(base * (1 + config.jitter * (2 * random() - 1))));
}

/**
 * Runs `fn`, retrying failures whose AppError is `retriable`; non-retriable errors and the last
 * failure are thrown as AppError. Programmer errors are rethrown untouched, never retried.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, config: RetryConfig, deps: RetryDeps): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (isProgrammerError(error)) throw error;
      const appError = toAppError(error);
      if (!appError.retriable || attempt >= config.attempts) {
        if (attempt > 1 && appError.retriable) {
          throw new AppError(appError.kind, `${appError.message} (gave up after ${attempt} attempts)`, { retriable: true, cause: appError });
        }
        throw appError;
      }
      const delay = backoffDelayMs(config, attempt, deps.random);
      deps.onRetry?.(appError, attempt, delay);
      await deps.sleep(delay);
    }
  }
}

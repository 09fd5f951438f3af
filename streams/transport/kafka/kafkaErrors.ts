import { AppError } from '../../../operators/common/errors.js';

/** A failure of @platformatic/kafka: a GenericError or MultipleErrors, possibly nested. */
interface ClientError {
  readonly code?: unknown;
  readonly apiId?: unknown;
  readonly canRetry?: unknown;
  readonly needsRejoin?: unknown;
  readonly errors?: unknown;
  readonly cause?: unknown;
}

/** Every error in the chain of a client failure (MultipleErrors nest, retries collect attempts). */
function* chain(error: unknown, depth = 0): Generator<ClientError> {
  if (depth > 6 || typeof error !== 'object' || error === null) return;
  const e = error as ClientError;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
  if (e.cause !== undefined) yield* chain(e.cause, depth + 1);
}

/** The broker's error name (`MESSAGE_TOO_LARGE`, `ILLEGAL_GENERATION`, ...) anywhere in a client failure. */
export function protocolErrorIds(error: unknown): Set<string> {
  const ids = new Set<string>();
  for (const e of chain(error)) if (typeof e.apiId === 'string') ids.add(e.apiId);
  return ids;
}

/**
 * Whether the same request may succeed later: a network failure, a timeout, a broker error Kafka
 * marks retriable, or a group in flux (rebalance, coordinator moved). Only a client-side refusal
 * (bad arguments, closed client) or a programmer error is not.
 */
export function isTransientClientError(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return false;
  let sawClientError = false;
  for (const e of chain(error)) {
    if (e.code === 'PLT_KFK_USER' || e.code === 'PLT_KFK_AUTHENTICATION' || e.code === 'PLT_KFK_UNSUPPORTED_API') return false;
    if (e.needsRejoin === true || e.canRetry === true || e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT') return true;
    if (typeof e.code === 'string') sawClientError = true;
  }
  return !sawClientError;
}

/** Wraps a client failure as a transport AppError, keeping whether it may succeed later. */
export function toTransportError(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  const details = [...chain(error)].map((e) => (typeof e.apiId === 'string' ? e.apiId : undefined)).filter((x) => x !== undefined);
  const message = error instanceof Error ? error.message : String(error);
  const suffix = details.length > 0 ? ` (${[...new Set(details)].join(', ')})` : '';
  return new AppError('transport', `${what}: ${message}${suffix}`, { retriable: isTransientClientError(error), cause: error });
}

/**
 * Backoff of the client's own retries: STYLE.md's 300 ms initial, ×2, ±20%, but capped at 2 s
 * rather than 30 s. A client call retries through a broker failover (a coordinator or leader
 * SIGKILLed: a new one is up after ≈ 10–20 s); with a 30 s cap, an attempt that failed just before
 * then sleeps up to 19 s more (the 3-broker topology took 78 s to drain), with 2 s it retries
 * within 2 s of the cluster being whole again. Callers give the total with the number of retries.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(2_000, 300 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + 0.2 * (2 * random() - 1)));
}

/**
 * Retries an admin call while it fails transiently (a leader moving, metadata not yet
 * propagated), with a short backoff, then wraps the last error as a transport AppError. Callers
 * that may meet a broker that just died wait 30 s: leader election after a SIGKILL takes the
 * broker session timeout (9 s) and more on a loaded machine.
 */
export async function retryTransient<T>(fn: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransientClientError(error) || performance.now() + delay > deadline) throw toTransportError(error, what);
      await new Promise((ok) => setTimeout(ok, delay));
    }
  }
}

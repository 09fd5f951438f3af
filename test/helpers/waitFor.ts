/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (ms). Default 10 000. */
  readonly timeoutMs?: number;
  /** Poll interval (ms). Default 10. */
  readonly intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  readonly message?: string;
}

/**
 * Polls `condition` until it returns a truthy value, and resolves with it (kafkajs-style: tests
 * poll instead of sleeping). Rejects after `timeoutMs`, with the last thrown error as cause.
 *
 * @example
 * await waitFor(() => received.length === 10, { timeoutMs: 30_000, message: 'all records' });
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const what = options.message ?? 'condition';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves after `ms`. Only for asserting that something does NOT happen within a window. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

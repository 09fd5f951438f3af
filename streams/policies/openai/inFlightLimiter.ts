/** A counting semaphore: the global bound on requests in flight. */
export interface InFlightLimiter {
  /** Runs `fn` once a slot is free (FIFO), releasing the slot when it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  inFlight(): number;
  queued(): number;
  /** Highest number of requests in flight at once. */
  peak(): number;
  /** The current bound. */
  max(): number;
  /** Changes the bound; a lower one takes effect as requests finish. */
  resize(max: number): void;
}

/** Creates a FIFO limiter allowing at most `max` concurrent `run`s. */
export function createInFlightLimiter(initialMax: number): InFlightLimiter {
  const check = (n: number): number => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`max in flight must be a positive integer, got ${n}`);
    return n;
  };
  let max = check(initialMax);
  let active = 0;
  let peak = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    // Hand the slot straight to the next waiter, so a burst cannot overtake the queue (unless the bound was lowered).
    const next = active <= max ? waiting.shift() : undefined;
    if (next !== undefined) next();
    else active -= 1;
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < max) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      peak = Math.max(peak, active);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    inFlight: () => active,
    queued: () => waiting.length,
    peak: () => peak,
    max: () => max,
    resize(n: number): void {
      max = check(n);
      // A raised bound lets waiters in at once.
      while (active < max && waiting.length > 0) {
        active += 1;
        waiting.shift()?.();
      }
    },
  };
}

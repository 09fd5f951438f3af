/** A counting semaphore: the global bound on requests in flight. */
export interface InFlightLimiter {
  /** Runs `fn` once a slot is free (FIFO), releasing the slot when it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  inFlight(): number;
  queued(): number;
  /** Highest number of requests in flight at once. */
  peak(): number;
}

/** Creates a FIFO limiter allowing at most `max` concurrent `run`s. */
export function createInFlightLimiter(max: number): InFlightLimiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max in flight must be a positive integer, got ${max}`);
  let active = 0;
  let peak = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    // Hand the slot straight to the next waiter, so a burst cannot overtake the queue.
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
  };
}

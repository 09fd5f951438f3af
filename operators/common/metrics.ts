/**
 * Counters and observations. Every count that drops data (invalid trees, empty Ψ, too few wrong
 * answers, ...) goes through here so it is logged and exported (ASTRO-METHOD §7.8).
 */
export interface Metrics {
  increment(name: string, by?: number): void;
  /** Records one observation (durations in ms, sizes in bytes; the name says the unit). */
  observe(name: string, value: number): void;
}

export interface MetricsSnapshot {
  readonly counters: Readonly<Record<string, number>>;
  readonly observations: Readonly<Record<string, { count: number; sum: number; min: number; max: number }>>;
}

/** In-memory metrics: what the CLI summary and the manifest read. */
export class InMemoryMetrics implements Metrics {
  // Plain maps: metrics are on hot paths (per rollout), so no allocation per call beyond the key.
  private readonly counters = new Map<string, number>();
  private readonly observations = new Map<string, { count: number; sum: number; min: number; max: number }>();

  increment(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  observe(name: string, value: number): void {
    const o = this.observations.get(name);
    if (o === undefined) this.observations.set(name, { count: 1, sum: value, min: value, max: value });
    else {
      o.count += 1;
      o.sum += value;
      o.min = Math.min(o.min, value);
      o.max = Math.max(o.max, value);
    }
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  snapshot(): MetricsSnapshot {
    return {
      counters: Object.fromEntries(this.counters),
      observations: Object.fromEntries([...this.observations].map(([k, v]) => [k, { ...v }])),
    };
  }
}

/** Metrics that go nowhere (tests, benchmarks). */
export const noopMetrics: Metrics = { increment: () => undefined, observe: () => undefined };

/** A leveled logger; stages log to stderr, tests pass a silent one. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Label values of one series (`{ stage: 'search', topic: 'astro.problems.v1' }`). Labelled calls
 * are per-process operational series for an exporter (Prometheus); dataset counts stay unlabelled.
 */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * Counters, observations and levels. Every count that drops data (invalid trees, empty Ψ, too few
 * wrong answers, ...) goes through here so it is logged and exported (ASTRO-METHOD §7.8).
 */
export interface Metrics {
  increment(name: string, by?: number, labels?: MetricLabels): void;
  /** Records one observation (durations in ms, sizes in bytes; the name says the unit). */
  observe(name: string, value: number, labels?: MetricLabels): void;
  /**
   * Sets a level that goes up and down (a loss, a policy version). Optional, so a Metrics written
   * before it existed still type-checks: call it as `metrics.gauge?.(...)`.
   */
  gauge?(name: string, value: number, labels?: MetricLabels): void;
}

export interface MetricsSnapshot {
  readonly counters: Readonly<Record<string, number>>;
  readonly observations: Readonly<Record<string, { count: number; sum: number; min: number; max: number }>>;
}

/**
 * In-memory metrics: what the CLI summary and the manifest read. Unlabelled counters and
 * observations are kept; labelled calls are not (they are per-stage, per-topic operational series,
 * not dataset counts) and only reach `forward`. Every call is also passed to `forward` when given
 * (the Prometheus exporter of `--metrics-port`), so one Metrics feeds both.
 */
export class InMemoryMetrics implements Metrics {
  // Plain maps: metrics are on hot paths (per rollout), so no allocation per call beyond the key.
  private readonly counters = new Map<string, number>();
  private readonly observations = new Map<string, { count: number; sum: number; min: number; max: number }>();
  private readonly gauges = new Map<string, number>();

  constructor(private readonly forward?: Metrics) {}

  increment(name: string, by = 1, labels?: MetricLabels): void {
    this.forward?.increment(name, by, labels);
    if (labels !== undefined) return;
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  observe(name: string, value: number, labels?: MetricLabels): void {
    this.forward?.observe(name, value, labels);
    if (labels !== undefined) return;
    const o = this.observations.get(name);
    if (o === undefined) this.observations.set(name, { count: 1, sum: value, min: value, max: value });
    else {
      o.count += 1;
      o.sum += value;
      o.min = Math.min(o.min, value);
      o.max = Math.max(o.max, value);
    }
  }

  gauge(name: string, value: number, labels?: MetricLabels): void {
    this.forward?.gauge?.(name, value, labels);
    if (labels === undefined) this.gauges.set(name, value);
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** The last value set for an unlabelled gauge, or undefined. */
  level(name: string): number | undefined {
    return this.gauges.get(name);
  }

  snapshot(): MetricsSnapshot {
    return {
      counters: Object.fromEntries(this.counters),
      observations: Object.fromEntries([...this.observations].map(([k, v]) => [k, { ...v }])),
    };
  }
}

/** Metrics that go nowhere (tests, benchmarks). */
export const noopMetrics: Metrics = { increment: () => undefined, observe: () => undefined, gauge: () => undefined };

/** A leveled logger; stages log to stderr, tests pass a silent one. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

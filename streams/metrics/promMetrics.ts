import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricLabels, Metrics } from '../../operators/common/metrics.js';
import { FAMILIES, resolveSeries, type FamilyKind, type FamilySpec } from './families.js';

type Family = Counter | Histogram | Gauge;
type Apply = (value: number) => void;

/**
 * A {@link Metrics} backed by a prom-client registry: each call lands in an `astro_` family with
 * labels (see `resolveSeries`). The name → series resolution runs once per distinct (name,
 * labels) and is cached, so a hot-path call costs a map lookup and prom-client's own update.
 * A call that cannot be exported (a name that clashes with a family of another kind) is dropped
 * and reported once through `onDrop`: metrics never stop the pipeline.
 */
export class PromMetrics implements Metrics {
  readonly registry: Registry;
  private readonly families = new Map<string, Family>();
  private readonly labelNames = new Map<string, readonly string[]>();
  private readonly cache = new Map<string, readonly Apply[]>();
  private readonly dropped = new Set<string>();

  private readonly onDrop: (name: string, reason: string) => void;

  constructor(options: { readonly registry?: Registry; readonly onDrop?: (name: string, reason: string) => void } = {}) {
    this.registry = options.registry ?? new Registry();
    this.onDrop = options.onDrop ?? (() => undefined);
    // The named families exist from the start (HELP and TYPE lines, unlabelled ones at 0), so
    // dashboards and `increase()` alerts see them before the first dead letter or token.
    for (const spec of Object.values(FAMILIES)) this.familyFor(spec, spec.name);
  }

  increment(name: string, by = 1, labels?: MetricLabels): void {
    for (const apply of this.series('counter', name, labels)) apply(by);
  }

  observe(name: string, value: number, labels?: MetricLabels): void {
    for (const apply of this.series('histogram', name, labels)) apply(value);
  }

  gauge(name: string, value: number, labels?: MetricLabels): void {
    for (const apply of this.series('gauge', name, labels)) apply(value);
  }

  /** The registered family of this name, if any (collectors and tests read it). */
  family(name: string): Family | undefined {
    return this.families.get(name);
  }

  private series(kind: FamilyKind, name: string, labels: MetricLabels | undefined): readonly Apply[] {
    const key = labels === undefined ? `${kind}\u0000${name}` : `${kind}\u0000${name}\u0000${labelKey(labels)}`;
    let applies = this.cache.get(key);
    if (applies === undefined) {
      applies = this.resolve(kind, name, labels);
      this.cache.set(key, applies);
    }
    return applies;
  }

  private resolve(kind: FamilyKind, name: string, labels: MetricLabels | undefined): readonly Apply[] {
    const applies: Apply[] = [];
    for (const target of resolveSeries(kind, name, labels)) {
      const family = this.familyFor(target.family, name);
      if (family === undefined) continue;
      // Label values for exactly the registered family's names (the first call of a name fixed
      // them): missing ones empty, extra ones ignored.
      const labelNames = this.labelNames.get(target.family.name) ?? [];
      const values = Object.fromEntries(labelNames.map((n) => [n, target.labels[n] ?? '']));
      const update = this.updater(family, labelNames.length === 0 ? undefined : values, target.observeValue);
      // prom-client throws on a value it refuses (NaN, a counter going down): dropped, never raised.
      applies.push((v) => {
        try {
          update(v);
        } catch (error) {
          this.drop(name, error instanceof Error ? error.message : String(error));
        }
      });
    }
    return applies;
  }

  private updater(family: Family, values: Record<string, string> | undefined, fixed: number | undefined): Apply {
    if (family instanceof Counter) {
      const child = values === undefined ? family : family.labels(values);
      return (by) => child.inc(by);
    }
    if (family instanceof Histogram) {
      const child = values === undefined ? family : family.labels(values);
      // A value-encoding counter name (traces.backtracks.3, by 1) is `by` observations of its value.
      return fixed === undefined ? (v) => child.observe(v) : (by) => {
        for (let i = 0; i < by; i++) child.observe(fixed);
      };
    }
    const child = values === undefined ? family : family.labels(values);
    return (v) => child.set(v);
  }

  private familyFor(spec: FamilySpec, callName: string): Family | undefined {
    const existing = this.families.get(spec.name);
    if (existing !== undefined) {
      if (kindOf(existing) === spec.kind) return existing;
      this.drop(callName, `${spec.name} is already a ${kindOf(existing)}`);
      return undefined;
    }
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [this.registry] };
    try {
      const family: Family =
        spec.kind === 'counter' ? new Counter(common) : spec.kind === 'histogram' ? new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] }) : new Gauge(common);
      this.families.set(spec.name, family);
      this.labelNames.set(spec.name, spec.labelNames);
      return family;
    } catch (error) {
      this.drop(callName, error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }

  private drop(name: string, reason: string): void {
    if (this.dropped.has(name)) return;
    this.dropped.add(name);
    this.onDrop(name, reason);
  }
}

const kindOf = (family: Family): FamilyKind => (family instanceof Counter ? 'counter' : family instanceof Histogram ? 'histogram' : 'gauge');

const labelKey = (labels: MetricLabels): string => {
  let key = '';
  for (const name in labels) key += `${name}=${labels[name]}\u0001`;
  return key;
};

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricLabels, Metrics } from '../../operators/common/metrics.js';
import { FAMILIES, resolveSeries, type FamilyKind, type FamilySpec } from './families.js';

type Family = Counter | Histogram | Gauge;
type Apply = (value: number) => void;

/** One counter or gauge series: a plain number the hot path updates and the scrape reads. */
interface Cell {
  readonly labels: Record<string, string> | undefined;
  value: number;
}

/** The cached series of one (kind, name): unlabelled, and labelled by object identity or by value. */
interface NameCache {
  plain?: readonly Apply[];
  // Callers that pass the same label object each time (constants) hit this without building a key.
  readonly byObject: WeakMap<MetricLabels, readonly Apply[]>;
  readonly byKey: Map<string, readonly Apply[]>;
}

/**
 * A {@link Metrics} backed by a prom-client registry: each call lands in an `astro_` family with
 * labels (see `resolveSeries`). The name → series resolution runs once per distinct (name,
 * labels) and is cached. Counters and gauges are plain numbers that prom-client reads when
 * scraped (its own `inc` hashes the labels on every call, too slow for a per-rollout counter);
 * histograms use prom-client's. A call that cannot be exported (a name that clashes with a family
 * of another kind, a value a family refuses) is dropped and reported once through `onDrop`:
 * metrics never stop the pipeline.
 */
export class PromMetrics implements Metrics {
  readonly registry: Registry;
  private readonly families = new Map<string, Family>();
  private readonly labelNames = new Map<string, readonly string[]>();
  private readonly cells = new Map<string, Map<string, Cell>>();
  private readonly cache: Record<FamilyKind, Map<string, NameCache>> = { counter: new Map(), histogram: new Map(), gauge: new Map() };
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
    let entry = this.cache[kind].get(name);
    if (entry === undefined) {
      entry = { byObject: new WeakMap(), byKey: new Map() };
      this.cache[kind].set(name, entry);
    }
    if (labels === undefined) return (entry.plain ??= this.resolve(kind, name, undefined));
    const seen = entry.byObject.get(labels);
    if (seen !== undefined) return seen;
    const key = labelKey(labels);
    let applies = entry.byKey.get(key);
    if (applies === undefined) {
      applies = this.resolve(kind, name, labels);
      entry.byKey.set(key, applies);
      // Only the first object of a series is remembered: fresh objects per call would churn the map.
      entry.byObject.set(labels, applies);
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
      const values = labelNames.length === 0 ? undefined : Object.fromEntries(labelNames.map((n) => [n, target.labels[n] ?? '']));
      applies.push(this.updater(family, target.family.name, values, target.observeValue, name));
    }
    return applies;
  }

  private updater(family: Family, familyName: string, values: Record<string, string> | undefined, fixed: number | undefined, callName: string): Apply {
    if (family instanceof Histogram) {
      const child = values === undefined ? family : family.labels(values);
      // prom-client refuses NaN: dropped, never raised. A value-encoding counter name
      // (traces.backtracks.3, by 1) is `by` observations of its value.
      const observe = (v: number): void => {
        if (Number.isNaN(v)) this.drop(callName, `observation ${v} is not a number`);
        else child.observe(v);
      };
      return fixed === undefined ? observe : (by) => {
        for (let i = 0; i < by; i++) observe(fixed);
      };
    }
    const cell = this.cellOf(familyName, values);
    if (family instanceof Counter) {
      return (by) => {
        if (by >= 0 && by !== Infinity) cell.value += by;
        else this.drop(callName, `a counter cannot change by ${by}`);
      };
    }
    return (v) => {
      if (Number.isFinite(v)) cell.value = v;
      else this.drop(callName, `gauge value ${v} is not finite`);
    };
  }

  private cellOf(familyName: string, values: Record<string, string> | undefined): Cell {
    let series = this.cells.get(familyName);
    if (series === undefined) {
      series = new Map();
      this.cells.set(familyName, series);
    }
    const key = values === undefined ? '' : labelKey(values);
    let cell = series.get(key);
    if (cell === undefined) {
      cell = { labels: values, value: 0 };
      series.set(key, cell);
    }
    return cell;
  }

  private familyFor(spec: FamilySpec, callName: string): Family | undefined {
    const existing = this.families.get(spec.name);
    if (existing !== undefined) {
      if (kindOf(existing) === spec.kind) return existing;
      this.drop(callName, `${spec.name} is already a ${kindOf(existing)}`);
      return undefined;
    }
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [this.registry] };
    const cells = (): Iterable<Cell> => this.cells.get(spec.name)?.values() ?? [];
    try {
      const family: Family =
        spec.kind === 'counter'
          ? new Counter({
              ...common,
              collect() {
                this.reset();
                for (const c of cells()) {
                  if (c.labels === undefined) this.inc(c.value);
                  else this.inc(c.labels, c.value);
                }
              },
            })
          : spec.kind === 'histogram'
            ? new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] })
            : new Gauge({
                ...common,
                collect() {
                  this.reset();
                  for (const c of cells()) {
                    if (c.labels === undefined) this.set(c.value);
                    else this.set(c.labels, c.value);
                  }
                },
              });
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

import type { MetricsSnapshot } from '../../operators/common/metrics.js';

/** The end-of-run report (also printed as JSON with `--json`). */
export interface RunSummary {
  readonly problems: number;
  readonly trees: number;
  readonly valid_trees: number;
  /** Share of searched problems whose tree has at least one correct terminal. */
  readonly solve_rate: number;
  readonly traces: number;
  readonly traces_by_variant: Readonly<Record<string, number>>;
  /** Traces by number of backtracks. */
  readonly backtrack_histogram: Readonly<Record<string, number>>;
  readonly dead_lettered: number;
  readonly wall_ms: number;
  readonly problems_per_s: number;
  readonly traces_per_s: number;
  readonly out: string;
}

/** Builds the summary from the run's metrics. */
export function summarize(input: { readonly problems: number; readonly metrics: MetricsSnapshot; readonly wallMs: number; readonly out: string }): RunSummary {
  const c = input.metrics.counters;
  const get = (name: string): number => c[name] ?? 0;
  const byPrefix = (prefix: string): Record<string, number> =>
    Object.fromEntries(
      Object.entries(c)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]): [string, number] => [k.slice(prefix.length), v])
        .sort(([a], [b]) => (Number.isNaN(Number(a)) ? a.localeCompare(b) : Number(a) - Number(b))),
    );
  const trees = get('search.trees');
  const valid = trees - get('verify.invalid_trees');
  const traces = get('traces.written');
  const seconds = input.wallMs / 1000;
  return {
    problems: input.problems,
    trees,
    valid_trees: valid,
    solve_rate: trees > 0 ? valid / trees : 0,
    traces,
    traces_by_variant: byPrefix('traces.variant.'),
    backtrack_histogram: byPrefix('traces.backtracks.'),
    dead_lettered: Object.entries(c)
      .filter(([k]) => k.endsWith('.dead_lettered'))
      .reduce((sum, [, v]) => sum + v, 0),
    wall_ms: Math.round(input.wallMs),
    problems_per_s: seconds > 0 ? trees / seconds : 0,
    traces_per_s: seconds > 0 ? traces / seconds : 0,
    out: input.out,
  };
}

/** Human-readable summary. */
export function formatSummary(s: RunSummary): string {
  const histogram = Object.entries(s.backtrack_histogram)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  const variants = Object.entries(s.traces_by_variant)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `problems         ${s.problems}`,
    `valid trees      ${s.valid_trees}/${s.trees} (solve rate ${(s.solve_rate * 100).toFixed(1)}%)`,
    `traces           ${s.traces}${variants ? ` (${variants})` : ''}`,
    `backtracks       ${histogram || '-'}`,
    `dead-lettered    ${s.dead_lettered}`,
    `wall time        ${(s.wall_ms / 1000).toFixed(1)} s`,
    `throughput       ${s.problems_per_s.toFixed(2)} problems/s, ${s.traces_per_s.toFixed(2)} traces/s`,
    `dataset          ${s.out}/ (traces/, trees/, manifest.json)`,
    '',
  ].join('\n');
}

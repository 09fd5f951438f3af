import type { MetricsSnapshot } from '../../operators/common/metrics.js';
import type { DeadLetter } from '../../schemas/deadLetter.js';
import { EXIT_INTERRUPTED } from './signals.js';

/** Dead letters of one stage and error kind: how many, and the first reason as an example. */
export interface DeadLetterGroup {
  readonly stage: string;
  readonly kind: string;
  readonly count: number;
  readonly reason: string;
}

/** Counts a run's dead letters by stage and kind, keeping one example reason (not the bytes). */
export class DeadLetterTally {
  private readonly groups = new Map<string, { stage: string; kind: string; count: number; reason: string }>();

  add(letter: Pick<DeadLetter, 'stage' | 'error_kind' | 'reason'>): void {
    const key = `${letter.stage}\u0000${letter.error_kind}`;
    const group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, { stage: letter.stage, kind: letter.error_kind, count: 1, reason: letter.reason });
    else group.count += 1;
  }

  total(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.count;
    return n;
  }

  /** Largest groups first. */
  list(): DeadLetterGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count || a.stage.localeCompare(b.stage) || a.kind.localeCompare(b.kind)).map((g) => ({ ...g }));
  }
}

/** The end-of-run report (also printed as JSON with `--json`). */
export interface RunSummary {
  /** Problems this run searched (after skipping those already done, on `--resume`). */
  readonly problems: number;
  readonly trees: number;
  readonly valid_trees: number;
  /** Share of searched problems whose tree has at least one correct terminal. */
  readonly solve_rate: number;
  readonly traces: number;
  readonly traces_by_variant: Readonly<Record<string, number>>;
  /** Traces by number of backtracks. */
  readonly backtrack_histogram: Readonly<Record<string, number>>;
  /** Records sent to a DLQ (and `OUT/dead_letters.jsonl`): bad source rows and records a stage gave up on. */
  readonly dead_lettered: number;
  /** The dead letters by stage and error kind, with an example reason. */
  readonly dead_letters: readonly DeadLetterGroup[];
  /** Source rows that repeated an earlier problem exactly (skipped: nothing lost). */
  readonly duplicate_rows: number;
  /** Problem ids two sources both gave: the first tree is kept, the second dropped at the sink (each logged with both sources). */
  readonly duplicate_problem_ids: number;
  /**
   * Verdicts "not equal" only because the verifier ran out of time (the math CAS bound), by the
   * stage that asked: search-time labels and rollouts, and the verify stage's labels.
   */
  readonly verdict_timeouts: { readonly search: number; readonly verify: number };
  /** `--resume`: problems skipped because their trees were in the dataset, and archived trees linearized again because their traces were not. */
  readonly resumed: { readonly problems_done: number; readonly trees_relinearized: number } | null;
  /** Why the run stopped before its input was done (`SIGINT`, a full disk), or null. */
  readonly interrupted: string | null;
  readonly wall_ms: number;
  readonly problems_per_s: number;
  readonly traces_per_s: number;
  readonly out: string;
}

/** What {@link summarize} reads. */
export interface SummaryInput {
  readonly problems: number;
  readonly metrics: MetricsSnapshot;
  readonly wallMs: number;
  readonly out: string;
  readonly deadLetters?: DeadLetterTally;
  readonly resumed?: RunSummary['resumed'];
  readonly interrupted?: string | null;
}

/** Builds the summary from the run's metrics. */
export function summarize(input: SummaryInput): RunSummary {
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
  // Trees linearized again on resume are ones whose search found a correct answer: they add no
  // invalid trees (unless a newer verifier disagrees), so this stays the share of this run's trees.
  const valid = Math.max(0, trees - get('verify.invalid_trees'));
  const traces = get('traces.written');
  const seconds = input.wallMs / 1000;
  const deadLettered =
    input.deadLetters?.total() ??
    Object.entries(c)
      .filter(([k]) => k.endsWith('.dead_lettered'))
      .reduce((sum, [, v]) => sum + v, 0);
  return {
    problems: input.problems,
    trees,
    valid_trees: valid,
    solve_rate: trees > 0 ? valid / trees : 0,
    traces,
    traces_by_variant: byPrefix('traces.variant.'),
    backtrack_histogram: byPrefix('traces.backtracks.'),
    dead_lettered: deadLettered,
    dead_letters: input.deadLetters?.list() ?? [],
    duplicate_rows: get('source.duplicate_rows'),
    duplicate_problem_ids: get('sink.duplicate_problem_ids'),
    verdict_timeouts: { search: get('search.verdict_timeouts'), verify: get('verify.verdict_timeouts') },
    resumed: input.resumed ?? null,
    interrupted: input.interrupted ?? null,
    wall_ms: Math.round(input.wallMs),
    problems_per_s: seconds > 0 ? trees / seconds : 0,
    traces_per_s: seconds > 0 ? traces / seconds : 0,
    out: input.out,
  };
}

/**
 * The exit code a run's summary means: 130 when it was interrupted; 3 when anything was
 * dead-lettered or a problem produced no tree (the summary says how many and why); 0 only when
 * every problem produced a tree. (Configuration errors exit 2 before there is a summary.)
 */
export function exitCodeOf(s: Pick<RunSummary, 'interrupted' | 'dead_lettered' | 'problems' | 'trees'>): number {
  if (s.interrupted !== null) return EXIT_INTERRUPTED;
  if (s.dead_lettered > 0 || s.trees < s.problems) return 3;
  return 0;
}

/** Human-readable summary. */
export function formatSummary(s: RunSummary): string {
  const histogram = Object.entries(s.backtrack_histogram)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  const variants = Object.entries(s.traces_by_variant)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const missing = s.problems - s.trees - s.dead_letters.filter((g) => g.stage === 'search').reduce((n, g) => n + g.count, 0);
  return [
    s.interrupted === null ? '' : `INTERRUPTED      ${s.interrupted}: the dataset holds what was complete (manifest.json lists it)`,
    `problems         ${s.problems}${s.resumed === null ? '' : ` (resumed: ${s.resumed.problems_done} already done, ${s.resumed.trees_relinearized} archived trees linearized again)`}${s.duplicate_rows > 0 ? ` (${s.duplicate_rows} repeated rows skipped)` : ''}${s.duplicate_problem_ids > 0 ? ` (${s.duplicate_problem_ids} ids given by two sources: the first tree kept, see the log)` : ''}`,
    `valid trees      ${s.valid_trees}/${s.trees} (solve rate ${(s.solve_rate * 100).toFixed(1)}%)`,
    `traces           ${s.traces}${variants ? ` (${variants})` : ''}`,
    `backtracks       ${histogram || '-'}`,
    `dead-lettered    ${s.dead_lettered}${s.dead_lettered > 0 ? ` (see ${s.out}/dead_letters.jsonl)` : ''}`,
    ...s.dead_letters.map((g) => `  ${String(g.count).padStart(5)} ${g.stage} ${g.kind}: ${g.reason.length > 160 ? `${g.reason.slice(0, 157)}...` : g.reason}`),
    // Only when it happened: a timeout is a label "not equal" the verifier did not really decide.
    s.verdict_timeouts.search + s.verdict_timeouts.verify > 0 ? `timeouts         ${s.verdict_timeouts.search} search-time verdicts, ${s.verdict_timeouts.verify} verify-stage labels: "not equal" because the verifier ran out of time` : '',
    s.interrupted === null && missing > 0 ? `no tree          ${missing} problem(s) produced neither a tree nor a dead letter` : '',
    `wall time        ${(s.wall_ms / 1000).toFixed(1)} s`,
    `throughput       ${s.problems_per_s.toFixed(2)} problems/s, ${s.traces_per_s.toFixed(2)} traces/s`,
    `dataset          ${s.out}/ (traces/, trees/, manifest.json)`,
    '',
  ]
    .filter((line, i, all) => line !== '' || i === all.length - 1)
    .join('\n');
}

import type { MetricLabels } from '../../operators/common/metrics.js';

/** Every exported family starts with this. */
export const METRIC_PREFIX = 'astro_';

export type FamilyKind = 'counter' | 'histogram' | 'gauge';

/** One Prometheus family: its full name, kind, help text, label names and (histograms) bucket bounds. */
export interface FamilySpec {
  readonly name: string;
  readonly kind: FamilyKind;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

/**
 * Where one `Metrics` call lands: a family and the series' label values. `observeValue` turns a
 * counter name that encodes a value (`traces.backtracks.3`) into one observation of that value.
 */
export interface SeriesTarget {
  readonly family: FamilySpec;
  readonly labels: Readonly<Record<string, string>>;
  readonly observeValue?: number;
}

/** Bucket bounds by what is measured (the name's unit suffix says which). */
export const BUCKETS = {
  ms: [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000],
  tokens: [1, 4, 16, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 32_768],
  bytes: [1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456],
  nodes: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000],
  backtracks: [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
  small: [0, 1, 2, 3, 4, 5, 8, 16, 32],
  unit: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
} as const;

const counter = (name: string, help: string, labelNames: readonly string[] = []): FamilySpec => ({ name: `${METRIC_PREFIX}${name}`, kind: 'counter', help, labelNames });
const histogram = (name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): FamilySpec => ({ name: `${METRIC_PREFIX}${name}`, kind: 'histogram', help, labelNames, buckets });

/** Families whose series come from labelled or value-encoding names; the rest map by name (below). */
export const FAMILIES = {
  recordsIn: counter('stage_records_in_total', 'Records a stage received, by stage and source topic.', ['stage', 'topic']),
  recordsOut: counter('stage_records_out_total', 'Records a stage published (acknowledged), by stage and destination topic.', ['stage', 'topic']),
  recordsFailed: counter('stage_records_failed_total', 'Records a stage could not handle (sent to the DLQ), by stage and source topic.', ['stage', 'topic']),
  deadLetters: counter('dead_letters_total', 'Dead letters by stage, source topic and error kind.', ['stage', 'topic', 'kind']),
  traces: counter('traces_total', 'Traces written to the dataset, by variant.', ['variant']),
  backtracks: histogram('trace_backtracks', 'Backtracks per written trace.', BUCKETS.backtracks),
  sinkRows: counter('sink_rows_total', 'Rows written to dataset files, by kind (traces, trees).', ['kind']),
  sinkFiles: counter('sink_files_total', 'Dataset files written, by kind (traces, trees).', ['kind']),
  sinkDuplicateProblemIds: counter('sink_duplicate_problem_ids_total', 'Trees the sink dropped because another problem source had already given a problem with the same id (the first tree is kept; each is logged with the id and both sources).'),
  policyTokens: counter('policy_tokens_total', 'Tokens the policy server reported, by kind (prompt, completion).', ['kind']),
  policyRequestMs: histogram('policy_request_duration_ms', 'Latency of one policy HTTP request attempt (ms).', BUCKETS.ms, ['outcome']),
  policyRequestTokens: histogram('policy_request_tokens', 'Tokens of one answered policy request, by kind (prompt, completion).', BUCKETS.tokens, ['kind']),
  policyCallMs: histogram('policy_call_duration_ms', 'Latency of one batched policy call of the search (ms), by call (propose, rollout).', BUCKETS.ms, ['call']),
  // Search stats by name (`mcts.expansions` → `astro_mcts_expansions_total`), named here so they are
  // exported at 0 from the start: with spent subtrees skipped (the default) a search never
  // revisits, and a dashboard or `rate()` must still find the family.
  mctsExpansions: counter('mcts_expansions_total', 'MCTS expansions that added at least one child.'),
  mctsRevisits: counter('mcts_revisits_total', 'MCTS iterations that ended at a leaf an earlier iteration had already ended at.'),
  mctsExhaustedTrees: counter('mcts_exhausted_trees_total', 'Searches that ended early because every subtree was spent.'),
  verifyTimeouts: counter('verify_timeouts_total', 'Verdicts "not equal" only because the verifier ran out of time (its CAS bound), by the stage that asked (search, verify, replay).', ['stage']),
  verdicts: counter('verifier_verdicts_total', 'Verifier verdicts by verifier, method and verdict (correct, wrong, no_answer, error).', ['verifier', 'method', 'verdict']),
} as const;

/** Rules for names that do not map one to one (checked in order; the first match wins). */
const INCREMENT_RULES: readonly { readonly pattern: RegExp; readonly to: (m: RegExpExecArray, labels: MetricLabels) => readonly SeriesTarget[] }[] = [
  { pattern: /^stage\.records_in$/, to: (_, l) => [{ family: FAMILIES.recordsIn, labels: l }] },
  { pattern: /^stage\.records_out$/, to: (_, l) => [{ family: FAMILIES.recordsOut, labels: l }] },
  {
    pattern: /^stage\.dead_letters$/,
    to: (_, l) => [
      { family: FAMILIES.deadLetters, labels: l },
      { family: FAMILIES.recordsFailed, labels: { stage: l['stage'] ?? '', topic: l['topic'] ?? '' } },
    ],
  },
  // Counted per stage by the labelled `stage.dead_letters` above; exporting both would double them.
  { pattern: /^.+\.dead_lettered$/, to: () => [] },
  { pattern: /^traces\.variant\.(.+)$/, to: (m) => [{ family: FAMILIES.traces, labels: { variant: m[1] ?? '' } }] },
  { pattern: /^traces\.backtracks\.(\d+)$/, to: (m) => [{ family: FAMILIES.backtracks, labels: {}, observeValue: Number(m[1]) }] },
  { pattern: /^sink\.(traces|trees)\.rows$/, to: (m) => [{ family: FAMILIES.sinkRows, labels: { kind: m[1] ?? '' } }] },
  { pattern: /^sink\.duplicate_problem_ids$/, to: () => [{ family: FAMILIES.sinkDuplicateProblemIds, labels: {} }] },
  { pattern: /^sink\.(traces|trees)\.files$/, to: (m) => [{ family: FAMILIES.sinkFiles, labels: { kind: m[1] ?? '' } }] },
  { pattern: /^policy\.(prompt|completion)_tokens$/, to: (m) => [{ family: FAMILIES.policyTokens, labels: { kind: m[1] ?? '' } }] },
  { pattern: /^(search|verify|replay)\.verdict_timeouts$/, to: (m) => [{ family: FAMILIES.verifyTimeouts, labels: { stage: m[1] ?? '' } }] },
  { pattern: /^verify\.verdicts$/, to: (_, l) => [{ family: FAMILIES.verdicts, labels: l }] },
];

const OBSERVE_RULES: Readonly<Record<string, FamilySpec>> = {
  'policy.request_ms': FAMILIES.policyRequestMs,
  'policy.request_tokens': FAMILIES.policyRequestTokens,
  'policy.call_ms': FAMILIES.policyCallMs,
};

/** `mcts.step_samples` → `mcts_step_samples`: Prometheus names allow [a-zA-Z0-9_:]. */
export const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_');

/** Bucket bounds for an observation by the unit its name ends with. */
export function bucketsFor(name: string): readonly number[] {
  if (/_ms$/.test(name)) return BUCKETS.ms;
  if (/tokens$/.test(name)) return BUCKETS.tokens;
  if (/bytes$/.test(name)) return BUCKETS.bytes;
  if (/nodes$/.test(name)) return BUCKETS.nodes;
  if (/lag$/.test(name)) return BUCKETS.small;
  return BUCKETS.nodes;
}

const labelNamesOf = (labels: MetricLabels | undefined): string[] => (labels === undefined ? [] : Object.keys(labels).sort());

/**
 * Where a `Metrics` call goes in Prometheus. Named rules first (labelled pipeline series,
 * value-encoding names); any other name maps by name: `verify.invalid_trees` →
 * `astro_verify_invalid_trees_total`, observation `mcts.search_ms` → histogram
 * `astro_mcts_search_ms`, gauge `trainer.loss` → `astro_trainer_loss`.
 */
export function resolveSeries(kind: FamilyKind, name: string, labels: MetricLabels | undefined): readonly SeriesTarget[] {
  const l = labels ?? {};
  if (kind === 'counter') {
    for (const rule of INCREMENT_RULES) {
      const m = rule.pattern.exec(name);
      if (m !== null) return rule.to(m, l);
    }
    return [{ family: counter(`${sanitize(name)}_total`, `Count of ${name}.`, labelNamesOf(labels)), labels: l }];
  }
  if (kind === 'histogram') {
    const named = OBSERVE_RULES[name];
    if (named !== undefined) return [{ family: named, labels: l }];
    return [{ family: histogram(sanitize(name), `Observations of ${name}.`, bucketsFor(name), labelNamesOf(labels)), labels: l }];
  }
  return [{ family: { name: `${METRIC_PREFIX}${sanitize(name)}`, kind: 'gauge', help: `Current ${name}.`, labelNames: labelNamesOf(labels) }, labels: l }];
}

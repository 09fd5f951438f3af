import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Domain } from '../../domains/domain.js';
import { labelTree } from '../../operators/verify/labelTree.js';
import { verifierId, type Verifier } from '../../operators/verify/verifier.js';
import { pearson } from '../../operators/common/stats.js';
import { Problem } from '../../schemas/problem.js';
import { verifyManifestFiles, type ManifestMismatch } from '../sinks/manifest.js';
import { readTreeArchive, TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import { listTraceFiles, readDatasetTraces } from './readTraceFiles.js';
import { readReplayManifest } from './replayManifest.js';

/** What `dataset inspect` reports about a dataset directory. */
export interface DatasetInspection {
  readonly dir: string;
  readonly manifest: boolean;
  /** Files listed in the manifest that are missing or differ from their recorded size/checksum. */
  readonly manifest_mismatches: readonly ManifestMismatch[];
  /** Trace files on disk that the manifest does not list. */
  readonly unlisted_files: readonly string[];
  readonly files: number;
  readonly rows: number;
  readonly duplicate_ids: number;
  readonly by_variant: Readonly<Record<string, number>>;
  readonly backtrack_histogram: Readonly<Record<string, number>>;
  /** Rows by backtracks, split by the configured verifier's verdict on the completion. */
  readonly backtracks_by_correctness: Readonly<Record<string, { readonly correct: number; readonly incorrect: number }>>;
  /** Pearson r between a row's backtracks and its correctness (1/0); null when either is constant. */
  readonly backtracks_correct_pearson: number | null;
  readonly by_source: Readonly<Record<string, number>>;
  readonly by_policy_version: Readonly<Record<string, number>>;
  readonly by_verifier: Readonly<Record<string, number>>;
  /** Rows whose `correct` column disagrees with the configured verifier's verdict on the completion. */
  readonly trace_disagreements: number;
  readonly trees: {
    readonly count: number;
    readonly terminals: number;
    /** Recorded terminal labels the configured verifier disagrees with. */
    readonly label_disagreements: number;
    readonly trees_with_disagreements: number;
  };
  /** The configured verifiers the labels were compared with. */
  readonly verifiers: readonly string[];
}

export interface InspectDeps {
  readonly domainOf: (name: string) => Domain;
  readonly verifierOf?: (domain: string) => Verifier;
}

const bump = (o: Record<string, number>, key: string): void => {
  o[key] = (o[key] ?? 0) + 1;
};
const sorted = (o: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (Number.isNaN(Number(a)) || Number.isNaN(Number(b)) ? a.localeCompare(b) : Number(a) - Number(b))));

/**
 * Reads a whole dataset directory: manifest integrity, row counts by variant, backtracks, source,
 * policy version and verifier, duplicate ids, and disagreements between the configured verifier
 * and the recorded labels (the `correct` column of traces, the terminal labels of archived trees).
 */
export async function inspectDataset(dir: string, deps: InspectDeps): Promise<DatasetInspection> {
  const found = await readReplayManifest(dir);
  const mismatches = found === null ? [] : await verifyManifestFiles(dir, found.manifest);
  const listed = new Set(found?.manifest.files.map((f) => f.path) ?? []);
  const traceFiles = await listTraceFiles(dir);
  const verifierOf = (domain: string): Verifier => deps.verifierOf?.(domain) ?? deps.domainOf(domain).verifier;
  const verifiers = new Set<string>();

  const ids = new Set<string>();
  let rows = 0;
  let duplicates = 0;
  let traceDisagreements = 0;
  const byVariant: Record<string, number> = {};
  const backtracks: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  const byPolicy: Record<string, number> = {};
  const byVerifier: Record<string, number> = {};
  const byCorrectness: Record<string, { correct: number; incorrect: number }> = {};
  const pairs: [number, number][] = [];
  for await (const { trace } of readDatasetTraces(dir)) {
    rows += 1;
    if (ids.has(trace.trace_id)) duplicates += 1;
    ids.add(trace.trace_id);
    bump(byVariant, trace.variant);
    bump(backtracks, String(trace.num_backtracks));
    bump(bySource, trace.source);
    bump(byPolicy, trace.policy_version);
    bump(byVerifier, trace.verifier);
    const verifier = verifierOf(trace.domain);
    verifiers.add(verifierId(verifier));
    const verdict = await verifier.verify(Problem.parse(JSON.parse(trace.problem_json)), trace.completion);
    if (verdict.correct !== trace.correct) traceDisagreements += 1;
    const cell = (byCorrectness[String(trace.num_backtracks)] ??= { correct: 0, incorrect: 0 });
    if (verdict.correct) cell.correct += 1;
    else cell.incorrect += 1;
    pairs.push([trace.num_backtracks, verdict.correct ? 1 : 0]);
  }

  let trees = 0;
  let terminals = 0;
  let labelDisagreements = 0;
  let treesWithDisagreements = 0;
  const hasTrees = await stat(join(dir, TREES_SUBDIR)).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (hasTrees) {
    for await (const tree of readTreeArchive(dir)) {
      trees += 1;
      const verifier = verifierOf(tree.problem.domain);
      verifiers.add(verifierId(verifier));
      const labelled = await labelTree(tree, verifier);
      terminals += labelled.num_correct_terminals + labelled.num_incorrect_terminals;
      labelDisagreements += labelled.relabelled;
      if (labelled.relabelled > 0) treesWithDisagreements += 1;
    }
  }

  return {
    dir,
    manifest: found !== null,
    manifest_mismatches: mismatches,
    unlisted_files: found === null ? [] : traceFiles.filter((f) => !listed.has(f)),
    files: traceFiles.length,
    rows,
    duplicate_ids: duplicates,
    by_variant: sorted(byVariant),
    backtrack_histogram: sorted(backtracks),
    backtracks_by_correctness: Object.fromEntries(Object.entries(byCorrectness).sort(([a], [b]) => Number(a) - Number(b))),
    backtracks_correct_pearson: pearson(pairs),
    by_source: sorted(bySource),
    by_policy_version: sorted(byPolicy),
    by_verifier: sorted(byVerifier),
    trace_disagreements: traceDisagreements,
    trees: { count: trees, terminals, label_disagreements: labelDisagreements, trees_with_disagreements: treesWithDisagreements },
    verifiers: [...verifiers].sort(),
  };
}

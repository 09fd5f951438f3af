import type { Domain } from '../../domains/domain.js';
import { isProgrammerError, toAppError } from '../../operators/common/errors.js';
import { InMemoryMetrics } from '../../operators/common/metrics.js';
import type { LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../../operators/linearize/linearizeTree.js';
import { verifierId, type Verifier } from '../../operators/verify/verifier.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { prepareTree } from './prepareTree.js';

/**
 * Everything a replay keeps of one rebuilt tree: the traces and what the report and manifest
 * count. Plain data (it crosses worker threads and spill files as JSON-safe values), so the
 * tree can be rebuilt anywhere and accounted for later, in tree_id order.
 */
export interface TreeOutcome {
  readonly tree_id: string;
  readonly policy_version: string;
  /** `stats.policy_calls` of the recorded search. */
  readonly search_policy_calls: number;
  /** The verifier that labelled the tree, when its domain is known. */
  readonly verifier: { readonly id: string; readonly config_hash: string } | null;
  readonly reverified: boolean;
  readonly labels_changed: number;
  /** Labelled without error and has a correct terminal. */
  readonly valid: boolean;
  /** The tree as labelled now (null when labelling failed, or when not asked for). */
  readonly labelled: VerifiedTree | null;
  readonly traces: Trace[];
  /** The linearizer's counters for this tree, in first-increment order. */
  readonly counters: readonly (readonly [string, number])[];
  /** Why the tree was skipped (its kind and message), or null. */
  readonly failure: { readonly kind: string; readonly message: string } | null;
}

export interface RebuildTreeDeps {
  readonly domainOf: (name: string) => Domain;
  readonly verifierOf?: (domain: string) => Verifier;
  readonly linearize: LinearizeConfig;
  /** Keep the labelled tree in the outcome (for the tree archive). */
  readonly keepLabelled: boolean;
}

/**
 * Labels (when needed) and linearizes one recorded tree. A tree's own failure (unknown domain, a
 * verifier that cannot judge, ...) is part of the outcome; a programmer error is thrown.
 */
export async function rebuildTree(recorded: SearchTree | VerifiedTree, deps: RebuildTreeDeps): Promise<TreeOutcome> {
  const metrics = new InMemoryMetrics();
  let verifier: TreeOutcome['verifier'] = null;
  let reverified = false;
  let labelsChanged = 0;
  let labelled: VerifiedTree | null = null;
  let traces: Trace[] = [];
  let failure: TreeOutcome['failure'] = null;
  try {
    const domain = deps.domainOf(recorded.problem.domain);
    const v = deps.verifierOf?.(domain.name) ?? domain.verifier;
    verifier = { id: verifierId(v), config_hash: v.configHash };
    // Labels that ran out of time are counted in the tree's counters (`replay.verdict_timeouts`).
    const prepared = await prepareTree(recorded, v, metrics);
    reverified = prepared.reverified;
    labelsChanged = prepared.labelsChanged;
    labelled = prepared.tree;
    // No policy in a replay: traces are capped with the domain's tokenizer, else an estimate (counted as such).
    traces = await linearizeTree(prepared.tree, deps.linearize, { domain, verifier: v, metrics, ...(domain.tokenizer === undefined ? {} : { tokenizer: domain.tokenizer }) });
  } catch (error) {
    if (isProgrammerError(error)) throw error;
    const e = toAppError(error, 'linearize');
    failure = { kind: e.kind, message: e.message };
  }
  return {
    tree_id: recorded.tree_id,
    policy_version: recorded.policy_version,
    search_policy_calls: recorded.stats.policy_calls,
    verifier,
    reverified,
    labels_changed: labelsChanged,
    valid: labelled?.valid === true,
    labelled: deps.keepLabelled ? labelled : null,
    traces,
    counters: Object.entries(metrics.snapshot().counters),
    failure,
  };
}

import type { Metrics } from '../../operators/common/metrics.js';
import { adoptSearchLabels } from '../../operators/verify/adoptSearchLabels.js';
import { labelTree } from '../../operators/verify/labelTree.js';
import { verifierId, type Verifier } from '../../operators/verify/verifier.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';

/** A tree ready to linearize, and whether the configured verifier had to label it. */
export interface PreparedTree {
  readonly tree: VerifiedTree;
  /** True when the terminals were labelled again by the configured verifier. */
  readonly reverified: boolean;
  /** Terminals whose label changed against the recorded one. */
  readonly labelsChanged: number;
}

const isVerified = (tree: SearchTree | VerifiedTree): tree is VerifiedTree => 'verifier_config_hash' in tree;

/**
 * Labels are reused when they are already the configured verifier's (same name@version and config
 * hash): a verified tree's labels, or a search tree's search-time labels when its search recorded
 * that verifier (`adoptSearchLabels`). Otherwise every terminal is judged again with `labelTree`,
 * which counts the terminals whose verdict differs from the recorded one, and in `metrics` the
 * labels that ran out of time (`replay.verdict_timeouts`).
 */
export async function prepareTree(tree: SearchTree | VerifiedTree, verifier: Verifier, metrics?: Metrics): Promise<PreparedTree> {
  if (isVerified(tree) && tree.verifier === verifierId(verifier) && tree.verifier_config_hash === verifier.configHash) {
    return { tree, reverified: false, labelsChanged: 0 };
  }
  const adopted = isVerified(tree) ? null : adoptSearchLabels(tree, verifier);
  if (adopted !== null) return { tree: adopted, reverified: false, labelsChanged: 0 };
  const labelled = await labelTree(tree, verifier, metrics, 'replay.verdict_timeouts');
  // labelTree compares with the labels it was given: for a verified tree those are the previous
  // verifier's, which is the disagreement a user asking "what changed" wants.
  return { tree: labelled, reverified: true, labelsChanged: labelled.relabelled };
}

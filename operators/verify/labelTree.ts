import { AppError, toAppError } from '../common/errors.js';
import type { Metrics } from '../common/metrics.js';
import type { SearchTree, TreeNode } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifierId, type Verdict, type Verifier } from './verifier.js';

/**
 * Labels every terminal node of a search tree with the verifier's verdict (ASTRO-METHOD §3.1,
 * §7.1): `correct` from `verifier.verify(problem, node.step)` and `answer` from the verdict's
 * extracted answer when it has one. Non-terminal nodes are copied unchanged.
 *
 * A tree with no correct terminal is returned with `valid: false` (flagged, not dropped), so a
 * later verifier or linearizer can still replay it. `relabelled` counts terminals whose recorded
 * search-time verdict was known (non-null) and differs from the new one.
 *
 * A verifier that throws (cannot judge) rejects with an AppError of kind `verifier`, keeping the
 * verifier's own kind/retriable flag when it threw an AppError. A verdict that ran out of time
 * (method `timeout`: "not equal" because the verifier's bound expired) counts
 * `timeoutsCounter` in `metrics`: `verify.verdict_timeouts` for the verify stage,
 * `replay.verdict_timeouts` for a replay.
 *
 * @example
 * const verified = await labelTree(tree, domain.verifier);
 * if (!verified.valid) metrics.increment('verify.invalid_trees');
 */
export async function labelTree(tree: SearchTree, verifier: Verifier, metrics?: Metrics, timeoutsCounter = 'verify.verdict_timeouts'): Promise<VerifiedTree> {
  const now = verifier.verifyNow;
  let timeouts = 0;
  const labelled = (node: TreeNode, verdict: Verdict): TreeNode => {
    if (verdict.method === 'timeout') timeouts += 1;
    return { ...node, correct: verdict.correct, answer: verdict.extracted ?? node.answer };
  };
  // Terminals are independent, so judge them together: a slow symbolic check on one does not
  // serialize the others. A synchronous verifier is asked directly (no promise per terminal: a
  // replay labels every terminal of every tree).
  const nodes =
    now === undefined
      ? await Promise.all(tree.nodes.map(async (node) => (node.terminal ? labelled(node, await judge(tree, node, verifier)) : node)))
      : tree.nodes.map((node) => {
          if (!node.terminal) return node;
          try {
            return labelled(node, now.call(verifier, tree.problem, node.step));
          } catch (error) {
            throw labelError(tree, node, verifier, error);
          }
        });
  if (timeouts > 0) metrics?.increment(timeoutsCounter, timeouts);
  let numCorrect = 0;
  let numIncorrect = 0;
  let relabelled = 0;
  nodes.forEach((node, i) => {
    if (!node.terminal) return;
    if (node.correct === true) numCorrect += 1;
    else numIncorrect += 1;
    const recorded = tree.nodes[i]?.correct ?? null;
    if (recorded !== null && recorded !== node.correct) relabelled += 1;
  });
  return {
    ...tree,
    nodes,
    verifier: verifierId(verifier),
    verifier_config_hash: verifier.configHash,
    valid: numCorrect > 0,
    num_correct_terminals: numCorrect,
    num_incorrect_terminals: numIncorrect,
    relabelled,
  };
}

async function judge(tree: SearchTree, node: TreeNode, verifier: Verifier): Promise<Verdict> {
  try {
    return await verifier.verify(tree.problem, node.step);
  } catch (error) {
    throw labelError(tree, node, verifier, error);
  }
}

/** What labelling throws when the verifier could not judge a terminal. */
function labelError(tree: SearchTree, node: TreeNode, verifier: Verifier, error: unknown): Error {
  // Programmer errors must end the stage (STYLE.md error table), not become a per-record value.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return error;
  const cause = toAppError(error, 'verifier');
  return new AppError(cause.kind, `verifier ${verifierId(verifier)} failed on node ${node.id} of tree ${tree.tree_id}: ${cause.message}`, {
    retriable: cause.retriable,
    cause: error,
  });
}

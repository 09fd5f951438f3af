import type { SearchTree } from '../../schemas/searchTree.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifierId, type Verifier } from './verifier.js';

/**
 * The tree `labelTree(tree, verifier)` would return, without judging anything, when the search
 * already labelled every terminal with this very verifier (same name@version and config hash,
 * recorded in `search_verifier` and `search_verifier_config_hash`); null otherwise.
 *
 * A verifier is a pure function of (problem, step), and the search stores exactly its verdict
 * (`correct`, `answer` = the extracted answer), so judging again can only repeat it. Replays use
 * this to pay for verification only when the verifier changed (ASTRO-METHOD §7.1: one verifier
 * decides every label).
 */
export function adoptSearchLabels(tree: SearchTree, verifier: Verifier): VerifiedTree | null {
  if (tree.search_verifier !== verifierId(verifier) || tree.search_verifier_config_hash !== verifier.configHash) return null;
  let numCorrect = 0;
  let numIncorrect = 0;
  for (const node of tree.nodes) {
    if (!node.terminal) continue;
    // A terminal the search did not judge cannot be adopted: label the whole tree instead.
    if (node.correct === null) return null;
    if (node.correct) numCorrect += 1;
    else numIncorrect += 1;
  }
  return {
    ...tree,
    nodes: tree.nodes,
    verifier: verifierId(verifier),
    verifier_config_hash: verifier.configHash,
    valid: numCorrect > 0,
    num_correct_terminals: numCorrect,
    num_incorrect_terminals: numIncorrect,
    relabelled: 0,
  };
}

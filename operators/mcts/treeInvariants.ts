import type { SearchTree, TreeNode } from '../../schemas/searchTree.js';
import { childrenOf } from './selection.js';

const EPS = 1e-9;
const near = (a: number, b: number): boolean => Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));

/** What the checker reads: the nodes, and when known the settings and stats of the search. */
export type CheckableTree = Pick<SearchTree, 'nodes'> & { readonly settings?: Partial<SearchTree['settings']>; readonly stats?: Pick<SearchTree['stats'], 'iterations'> };

/**
 * Checks the structural and MCTS invariants of a search tree (ASTRO-METHOD §2, §7.4) and returns
 * one message per violation, empty when the tree is sound. Stages reuse it to reject corrupt
 * records; tests assert it is empty.
 *
 * Always checked: ids are indices, node 0 is the only root, parents precede children, depth =
 * parent depth + 1; R and Q in [0, 1]; terminals have a verdict, an answer (unless judged wrong
 * as unparseable), no children and are not expanded; priors in [0, 1] and summing to 1 over each
 * sibling set; a node with children is expanded.
 *
 * Visits and values follow the tree's backup (`settings.backup`; absent = legacy, as recorded
 * before the field existed):
 * - `paper`: every iteration added one visit along its path. Below the root, an expanded node
 *   has `visits = 1 + Σ child visits`; the root has one more (its evaluation), and
 *   `iterations + 1` in all when `stats` is given. An unvisited node has value_sum 0 and no
 *   children; a visited node that is neither expanded nor a terminal is a dead end at the depth
 *   cap (when `settings.max_depth` is given). Q = value_sum / visits equals
 *   (R + Σ child value_sum) / (1 + Σ child visits) at every visited node (ASTRO-METHOD §2).
 * - `legacy`: every node has `visits ≥ 1`; with children `visits = 1 + Σ child visits` and
 *   `value_sum = R + Σ child value_sum`; leaves `value_sum = R · visits` (leaves are revisited).
 */
export function checkTreeInvariants(tree: CheckableTree): string[] {
  const errors: string[] = [];
  const { nodes } = tree;
  if (nodes.length === 0) return ['tree has no nodes'];
  nodes.forEach((n, i) => {
    if (n.id !== i) errors.push(`node at index ${i} has id ${n.id}`);
  });
  if (errors.length > 0) return errors;
  const root = nodes[0];
  if (root !== undefined && (root.parent !== -1 || root.depth !== 0 || root.step !== '')) {
    errors.push('node 0 must be the root (parent -1, depth 0, empty step)');
  }
  for (const n of nodes.slice(1)) {
    const parent = nodes[n.parent];
    if (n.parent < 0 || n.parent >= n.id || parent === undefined) {
      errors.push(`node ${n.id}: parent ${n.parent} is not an earlier node`);
    } else if (n.depth !== parent.depth + 1) {
      errors.push(`node ${n.id}: depth ${n.depth} but parent depth ${parent.depth}`);
    }
  }
  if (errors.length > 0) return errors;

  const children = childrenOf(nodes);
  const paper = tree.settings?.backup === 'paper';
  for (const n of nodes) {
    const kids = (children[n.id] ?? []).map((id) => nodes[id]).filter((c) => c !== undefined);
    const r = n.rollout_estimate;
    if (!(r >= 0 && r <= 1)) errors.push(`node ${n.id}: R ${r} outside [0, 1]`);
    if (n.visits > 0) {
      const q = n.value_sum / n.visits;
      if (!(q >= -EPS && q <= 1 + EPS)) errors.push(`node ${n.id}: Q ${q} outside [0, 1]`);
    }
    if (paper) errors.push(...paperVisits(n, kids, tree));
    else errors.push(...legacyVisits(n, kids));
    if (kids.length > 0) {
      if (!n.expanded) errors.push(`node ${n.id}: has children but is not expanded`);
      const priors = kids.reduce((a, c) => a + c.prior, 0);
      if (Math.abs(priors - 1) > 1e-6) errors.push(`node ${n.id}: children priors sum to ${priors}`);
    }
    if (!(n.prior >= 0 && n.prior <= 1)) errors.push(`node ${n.id}: prior ${n.prior} outside [0, 1]`);
    if (n.terminal) {
      if (kids.length > 0) errors.push(`node ${n.id}: terminal with children`);
      if (n.expanded) errors.push(`node ${n.id}: terminal marked expanded`);
      if (n.correct === null) errors.push(`node ${n.id}: terminal without a verdict`);
      // An unparseable final answer (e.g. an unclosed \boxed{) is a wrong verdict with no answer.
      if (n.answer === null && n.correct !== false) errors.push(`node ${n.id}: terminal without an answer`);
    }
  }
  return errors;
}

/** The paper's backup: one visit per iteration along its path, children born unvisited. */
function paperVisits(n: TreeNode, kids: readonly TreeNode[], tree: CheckableTree): string[] {
  const errors: string[] = [];
  const isRoot = n.id === 0;
  if (isRoot && n.visits < 1) errors.push(`node 0: root visits ${n.visits} < 1`);
  if (isRoot && tree.stats !== undefined && n.visits !== tree.stats.iterations + 1) {
    errors.push(`node 0: root visits ${n.visits} != iterations + 1 = ${tree.stats.iterations + 1}`);
  }
  if (n.visits === 0) {
    if (n.value_sum !== 0) errors.push(`node ${n.id}: unvisited with value_sum ${n.value_sum}`);
    if (kids.length > 0 || n.expanded) errors.push(`node ${n.id}: unvisited but expanded`);
    return errors;
  }
  const childVisits = kids.reduce((a, c) => a + c.visits, 0);
  const childValue = kids.reduce((a, c) => a + c.value_sum, 0);
  if (kids.length > 0) {
    const expected = childVisits + (isRoot ? 2 : 1);
    if (n.visits !== expected) errors.push(`node ${n.id}: visits ${n.visits} != ${isRoot ? 2 : 1} + Σ children visits = ${expected}`);
  }
  const q = (n.rollout_estimate + childValue) / (1 + childVisits);
  if (!near(n.value_sum / n.visits, q)) errors.push(`node ${n.id}: Q ${n.value_sum / n.visits} != (R + Σ children value_sum) / (1 + Σ children visits) = ${q}`);
  const maxDepth = tree.settings?.max_depth;
  if (!isRoot && !n.expanded && !n.terminal && maxDepth !== undefined && n.depth < maxDepth) {
    errors.push(`node ${n.id}: visited but neither expanded, terminal nor at the depth cap`);
  }
  return errors;
}

/** The backup before the paper's: children born with one visit, ancestors credited at birth. */
function legacyVisits(n: TreeNode, kids: readonly TreeNode[]): string[] {
  const errors: string[] = [];
  if (n.visits < 1) errors.push(`node ${n.id}: visits ${n.visits} < 1`);
  if (kids.length > 0) {
    const visits = 1 + kids.reduce((a, c) => a + c.visits, 0);
    const value = n.rollout_estimate + kids.reduce((a, c) => a + c.value_sum, 0);
    if (n.visits !== visits) errors.push(`node ${n.id}: visits ${n.visits} != 1 + Σ children visits = ${visits}`);
    if (!near(n.value_sum, value)) errors.push(`node ${n.id}: value_sum ${n.value_sum} != R + Σ children value_sum = ${value}`);
  } else if (!near(n.value_sum, n.rollout_estimate * n.visits)) {
    errors.push(`node ${n.id}: leaf value_sum ${n.value_sum} != R · visits = ${n.rollout_estimate * n.visits}`);
  }
  return errors;
}

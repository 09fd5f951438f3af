import type { SearchTree } from '../../schemas/searchTree.js';
import { childrenOf } from './selection.js';

const EPS = 1e-9;
const near = (a: number, b: number): boolean => Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * Checks the structural and MCTS invariants of a search tree (ASTRO-METHOD §2, §7.4) and returns
 * one message per violation, empty when the tree is sound. Stages reuse it to reject corrupt
 * records; tests assert it is empty.
 *
 * Checked: ids are indices, node 0 is the only root, parents precede children, depth = parent
 * depth + 1; for nodes with children `visits = 1 + Σ child visits` and
 * `value_sum = R + Σ child value_sum`; for leaves `visits ≥ 1` and `value_sum = R · visits` (leaves
 * are revisited, see search.ts); Q and R in [0, 1]; terminals have a verdict, an answer (unless judged wrong as unparseable) and no children and
 * are not expanded; priors in [0, 1] and summing to 1 over each sibling set.
 */
export function checkTreeInvariants(tree: Pick<SearchTree, 'nodes'>): string[] {
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
  for (const n of nodes) {
    const kids = (children[n.id] ?? []).map((id) => nodes[id]).filter((c) => c !== undefined);
    const r = n.rollout_estimate;
    if (!(r >= 0 && r <= 1)) errors.push(`node ${n.id}: R ${r} outside [0, 1]`);
    if (n.visits < 1) errors.push(`node ${n.id}: visits ${n.visits} < 1`);
    const q = n.value_sum / n.visits;
    if (!(q >= -EPS && q <= 1 + EPS)) errors.push(`node ${n.id}: Q ${q} outside [0, 1]`);
    if (kids.length > 0) {
      const visits = 1 + kids.reduce((a, c) => a + c.visits, 0);
      const value = r + kids.reduce((a, c) => a + c.value_sum, 0);
      if (n.visits !== visits) errors.push(`node ${n.id}: visits ${n.visits} != 1 + Σ children visits = ${visits}`);
      if (!near(n.value_sum, value)) errors.push(`node ${n.id}: value_sum ${n.value_sum} != R + Σ children value_sum = ${value}`);
      if (!n.expanded) errors.push(`node ${n.id}: has children but is not expanded`);
      const priors = kids.reduce((a, c) => a + c.prior, 0);
      if (Math.abs(priors - 1) > 1e-6) errors.push(`node ${n.id}: children priors sum to ${priors}`);
    } else if (!near(n.value_sum, r * n.visits)) {
      errors.push(`node ${n.id}: leaf value_sum ${n.value_sum} != R · visits = ${r * n.visits}`);
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

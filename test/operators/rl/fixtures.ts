import { ANSWER_OFFSET, MAX_NUMBERS, applyAction, initialState, type CountdownState } from '../../../domains/countdown/actions.js';
import type { Problem } from '../../../schemas/problem.js';
import type { TreeNode } from '../../../schemas/searchTree.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';

export const PROBLEM: Problem = {
  id: 'p-20',
  domain: 'countdown',
  source: 'test',
  question: 'Using the numbers 2, 3, 4, make 20. You may use +, -, *, / and each number at most once.',
  answer: '20',
  numbers: [2, 3, 4],
  target: 20,
};

/** Action id of combining slots i and j with operator op (0 + 1 - 2 * 3 /). */
export const combine = (i: number, j: number, op: number): number => (i * MAX_NUMBERS + j) * 4 + op;
export const answer = (slot: number): number => ANSWER_OFFSET + slot;

interface Spec {
  readonly parent: number;
  readonly action: number;
  readonly visits: number;
  readonly correct?: boolean;
}

/**
 * A small verified tree over PROBLEM built from actions (so step texts are exactly what the
 * action model renders): root → {2+3 (visits 4), 4-3 (1)}; 2+3 → 5*4 → answer (correct).
 */
export function smallTree(): { tree: VerifiedTree; actions: Spec[] } {
  const specs: Spec[] = [
    { parent: 0, action: combine(0, 1, 0), visits: 4 },
    { parent: 0, action: combine(2, 1, 1), visits: 1 },
    { parent: 1, action: combine(0, 1, 2), visits: 3 },
    { parent: 3, action: answer(0), visits: 2, correct: true },
  ];
  const states: CountdownState[] = [initialState(PROBLEM)];
  const nodes: TreeNode[] = [
    { id: 0, parent: -1, depth: 0, step: '', prior: 1, visits: 7, value_sum: 3, rollout_estimate: 0, rollouts: 0, terminal: false, expanded: true, answer: null, correct: null },
  ];
  specs.forEach((s, k) => {
    const parentState = states[s.parent] as CountdownState;
    const applied = applyAction(parentState, s.action);
    states.push(applied.state);
    nodes.push({
      id: k + 1,
      parent: s.parent,
      depth: (nodes[s.parent]?.depth ?? 0) + 1,
      step: applied.step,
      prior: 0.2,
      visits: s.visits,
      value_sum: 0,
      rollout_estimate: 0,
      rollouts: 0,
      terminal: applied.terminal,
      expanded: !applied.terminal,
      answer: applied.terminal ? applied.state.answered : null,
      correct: applied.terminal ? (s.correct ?? false) : null,
    });
  });
  const tree: VerifiedTree = {
    tree_id: 't-20',
    problem_id: PROBLEM.id,
    problem: PROBLEM,
    policy_version: 'countdown-mlp@v3.abcdefabcdef',
    search_verifier: 'countdown@1.0.0',
    seed: 1,
    settings: { k: 8, rollouts: 0, iterations: 6, max_depth: 50, c_puct: 1, temperature: 1, top_p: 1 },
    nodes,
    stats: { iterations: 6, step_samples: 0, rollouts: 0, policy_calls: 0, prompt_tokens: 0, completion_tokens: 0, duration_ms: 0 },
    created_at: 0,
    verifier: 'countdown@1.0.0',
    verifier_config_hash: 'x',
    valid: true,
    num_correct_terminals: 1,
    num_incorrect_terminals: 0,
    relabelled: 0,
  };
  return { tree, actions: specs };
}

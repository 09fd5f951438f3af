import type { Problem } from '../../schemas/problem.js';
import type { TreeNode } from '../../schemas/searchTree.js';
import { noopMetrics, type Metrics } from '../common/metrics.js';
import { deriveSeed } from '../common/rng.js';
import { STEP_DELIMITER } from '../mcts/policy.js';
import type { TreeIndex } from './treeIndex.js';

/** An LLM judge: N independent yes/no judgments of whether a solution is sound. */
export interface SolutionJudge {
  /** `n` judgments (true = the judge approves); seeded so a replay asks the same question. */
  judge(problem: Problem, solution: string, n: number, seed: number): Promise<boolean[]>;
}

/** Self-evaluation (ASTRO-METHOD §3.2): off unless configured. */
export interface SelfEvalConfig {
  /** N: judgments per correct terminal; all must approve. */
  readonly judgments: number;
  readonly seed: number;
}

export interface SelfEvalDeps {
  readonly judge: SolutionJudge;
  readonly metrics?: Metrics;
}

/**
 * Filters the correct terminals Ψ by self-evaluation: each one's root→node solution is judged N
 * times and kept only if every judgment approves. A judge that returns fewer than N judgments
 * has not approved N times, so the terminal is dropped. Counts `linearize.self_eval_judged`,
 * `linearize.self_eval_rejected`; an empty result is the caller's cue to drop the tree.
 */
export async function filterBySelfEval(
  problem: Problem,
  index: TreeIndex,
  correct: readonly TreeNode[],
  config: SelfEvalConfig,
  deps: SelfEvalDeps,
): Promise<TreeNode[]> {
  const metrics = deps.metrics ?? noopMetrics;
  const verdicts = await Promise.all(
    correct.map(async (terminal) => {
      const solution = index
        .pathTo(terminal.id)
        .slice(1)
        .map((id) => index.node(id).step)
        .join(STEP_DELIMITER);
      const judgments = await deps.judge.judge(problem, solution, config.judgments, deriveSeed(config.seed, problem.id, terminal.id, 'self-eval'));
      metrics.increment('linearize.self_eval_judged');
      return judgments.length >= config.judgments && judgments.every((j) => j);
    }),
  );
  const kept = correct.filter((_, i) => verdicts[i] === true);
  metrics.increment('linearize.self_eval_rejected', correct.length - kept.length);
  return kept;
}

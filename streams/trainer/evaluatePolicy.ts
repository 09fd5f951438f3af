import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import { searchTree } from '../../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../operators/mcts/searchConfig.js';
import type { Verifier } from '../../operators/verify/verifier.js';
import type { PolicyValueNet } from '../../models/policyValueNet.js';
import type { Problem } from '../../schemas/problem.js';
import type { SearchTree } from '../../schemas/searchTree.js';
import { createCountdownNetPolicy, greedySolveAll } from '../policies/onnxPolicy.js';

/** How a policy answers during evaluation: argmax play, or MCTS with a fixed iteration budget. */
export type EvalSearch = { readonly kind: 'greedy' } | { readonly kind: 'mcts'; readonly iterations: number };

/** Parses `greedy` or `mcts:ITER` (the `eval --search` flag). Throws RangeError on anything else. */
export function parseEvalSearch(text: string): EvalSearch {
  if (text === 'greedy') return { kind: 'greedy' };
  const m = /^mcts:(\d+)$/.exec(text);
  if (m !== null && Number(m[1]) > 0) return { kind: 'mcts', iterations: Number(m[1]) };
  throw new RangeError(`--search must be greedy or mcts:ITER (ITER > 0), got ${JSON.stringify(text)}`);
}

/** Solve rate of one policy on a fixed problem set. */
export interface EvalResult {
  readonly problems: number;
  readonly solved: number;
  readonly solve_rate: number;
}

/** The MCTS settings of evaluation: small and fixed, so rates are comparable across versions. */
export function evalSearchConfig(iterations: number, seed: number): SearchConfig {
  return { ...DEFAULT_SEARCH_CONFIG, iterations, k: 4, rollouts: 4, seed };
}

// The answer MCTS commits to: follow the most visited child from the root down to a terminal.
function mctsAnswer(tree: SearchTree): string {
  const children = new Map<number, number[]>();
  for (const n of tree.nodes) if (n.parent >= 0) children.set(n.parent, [...(children.get(n.parent) ?? []), n.id]);
  const steps: string[] = [];
  let at = 0;
  for (;;) {
    const kids = children.get(at) ?? [];
    if (kids.length === 0) break;
    let best = kids[0] ?? 0;
    for (const k of kids) if ((tree.nodes[k]?.visits ?? 0) > (tree.nodes[best]?.visits ?? 0)) best = k;
    at = best;
    steps.push(tree.nodes[at]?.step ?? '');
  }
  return steps.join(STEP_DELIMITER);
}

/**
 * Greedy: each problem is played by the network's argmax (all problems in lock-step batches).
 * MCTS: each problem is searched with {@link evalSearchConfig} and the most-visited path is the
 * answer (what the search would commit to, not "some terminal was right").
 */
export async function evaluatePolicy(net: PolicyValueNet, problems: readonly Problem[], search: EvalSearch, deps: { readonly verifier: Verifier; readonly seed: number }): Promise<EvalResult> {
  let answers: string[];
  if (search.kind === 'greedy') {
    answers = (await greedySolveAll(net, problems)).map((steps) => steps.join(STEP_DELIMITER));
  } else {
    const policy = createCountdownNetPolicy(net);
    const config = evalSearchConfig(search.iterations, deps.seed);
    answers = [];
    for (const p of problems) answers.push(mctsAnswer(await searchTree(p, config, { policy, verifier: deps.verifier, clock: () => 0 })));
  }
  let solved = 0;
  for (let i = 0; i < problems.length; i++) {
    const problem = problems[i];
    if (problem !== undefined && (await deps.verifier.verify(problem, answers[i] ?? '')).correct) solved++;
  }
  return { problems: problems.length, solved, solve_rate: problems.length === 0 ? 0 : solved / problems.length };
}

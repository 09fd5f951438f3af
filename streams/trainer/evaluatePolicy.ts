import type { Domain } from '../../domains/domain.js';
import { deriveSeed } from '../../operators/common/rng.js';
import { scoreSamples, type JudgedResponse, type SampleScores } from '../../operators/eval/scoreSamples.js';
import { normalizeAnswer } from '../../operators/linearize/lastBoxed.js';
import { countBacktracks } from '../../operators/linearize/phrases.js';
import { STEP_DELIMITER, type Policy } from '../../operators/mcts/policy.js';
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

/** Full responses to a problem's prompt: `n` samples, each with whether a length limit cut it. */
export type ResponseSampler = (problem: Problem, n: number, seed: number) => Promise<readonly { readonly text: string; readonly truncated: boolean }[]>;

/** The sampling protocol of ASTRO-METHOD §5. */
export interface SampleEvalConfig {
  /** Responses per problem (the paper: 16). */
  readonly samples: number;
  /** k of maj@k (the paper: 8); at most `samples`. */
  readonly majK: number;
  /** Base seed: problem i is sampled with `deriveSeed(seed, problem id)`. */
  readonly seed: number;
  /** Problems sampled at once. */
  readonly concurrency: number;
}

/** One judged response, kept for `eval --out`. */
export interface EvalResponse {
  readonly problem_id: string;
  readonly sample: number;
  readonly response: string;
  readonly answer: string | null;
  readonly correct: boolean;
  readonly backtracks: number;
  readonly truncated: boolean;
}

export interface SampleEvalDeps {
  readonly sampler: ResponseSampler;
  /** The domain of a problem: its verifier judges, its `voteKey` (when any) groups votes. */
  readonly domainOf: (name: string) => Pick<Domain, 'verifier' | 'voteKey'>;
  /** Called with each problem's judged responses as they finish. */
  readonly onProblem?: (responses: readonly EvalResponse[]) => void;
}

/**
 * Samples `samples` full responses per problem and scores them as the paper does (ASTRO-METHOD
 * §5): pass@1 averaged over the samples, maj@k over the first k, backtracks per response and
 * their Pearson correlation with correctness. Every verdict comes from the problem's domain
 * verifier on the response's last `\boxed{}`; a response without one abstains from the vote.
 */
export async function evaluateSamples(problems: readonly Problem[], config: SampleEvalConfig, deps: SampleEvalDeps): Promise<SampleScores> {
  const judged: JudgedResponse[][] = new Array<JudgedResponse[]>(problems.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < problems.length; i = next++) {
      const problem = problems[i] as Problem;
      const domain = deps.domainOf(problem.domain);
      const responses = await deps.sampler(problem, config.samples, deriveSeed(config.seed, problem.id));
      const kept: EvalResponse[] = [];
      judged[i] = await Promise.all(
        responses.map(async (r, sample) => {
          const verdict = await domain.verifier.verify(problem, r.text);
          const answer = verdict.extracted;
          const backtracks = countBacktracks(r.text);
          kept.push({ problem_id: problem.id, sample, response: r.text, answer, correct: verdict.correct, backtracks, truncated: r.truncated });
          const voteKey = answer === null ? null : (domain.voteKey?.(answer) ?? verdict.normalized ?? normalizeAnswer(answer));
          return { correct: verdict.correct, voteKey, backtracks, truncated: r.truncated };
        }),
      );
      deps.onProblem?.(kept.sort((a, b) => a.sample - b.sample));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, config.concurrency) }, worker));
  return scoreSamples(judged, Math.min(config.majK, config.samples));
}

/** A {@link ResponseSampler} from a Policy's rollouts from the empty state (the built-in network, the dry-run policy). */
export function rolloutSampler(policy: Policy, options: { readonly temperature: number; readonly topP: number; readonly maxSteps: number }): ResponseSampler {
  return async (problem, n, seed) => {
    const [rollouts = []] = await policy.rollout([{ problem, steps: [] }], n, { seed, temperature: options.temperature, topP: options.topP, maxSteps: options.maxSteps });
    return rollouts.map((r) => ({ text: r.text, truncated: r.truncated }));
  };
}

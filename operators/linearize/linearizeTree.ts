import { configHash, stableId } from '../common/hash.js';
import { noopMetrics, type Metrics } from '../common/metrics.js';
import { createRng, deriveSeed } from '../common/rng.js';
import type { Domain } from '../../domains/domain.js';
import type { Trace, TraceVariant } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifierId, type Verifier } from '../verify/verifier.js';
import { chooseTarget, chooseWrongTerminals, terminalAnswer } from './chooseTerminals.js';
import { lastBoxed } from './lastBoxed.js';
import { linearizeConfigHash, linearizerId, type LinearizeConfig } from './linearizeConfig.js';
import { nodeSequence, type NodeSequence } from './nodeSequence.js';
import { renderTrace } from './renderTrace.js';
import { rewriteCompletion, type RewriteConfig, type TextRewriter } from './rewrite.js';
import { filterBySelfEval, type SelfEvalConfig, type SolutionJudge } from './selfEval.js';
import { collectTerminals } from './terminals.js';
import { indexTree, type TreeIndex } from './treeIndex.js';

/** What linearizing needs: the domain (prompt and backtrack clauses), the verifier and metrics. */
export interface LinearizeTreeDeps {
  readonly domain: Pick<Domain, 'prompt' | 'describeStep'>;
  /** Re-verifies every trace's last `\boxed{}` (ASTRO-METHOD §4, last bullet). */
  readonly verifier: Verifier;
  readonly metrics?: Metrics;
  /** Self-evaluation filter of Ψ (ASTRO-METHOD §3.2); off when absent. */
  readonly selfEval?: { readonly config: SelfEvalConfig; readonly judge: SolutionJudge };
  /** LLM rewriting of forward steps and backtrack clauses (§4); off when absent. Every rewritten trace is re-verified. */
  readonly rewrite?: { readonly config: RewriteConfig; readonly rewriter: TextRewriter };
}

/** Trace fields that depend on the tree only. */
interface SharedFields {
  readonly prompt: string;
  readonly problemJson: string;
  readonly verifier: string;
}

/** One trace about to be rendered. */
interface Plan {
  readonly variant: TraceVariant;
  readonly variantIndex: number;
  readonly sequence: NodeSequence;
}

/**
 * Turns one verified tree into training traces (ASTRO-METHOD §3–4): one per `kMix` entry (k = 0 a
 * `direct` trace, k ≥ 1 a `search` trace), plus as many `direct_ablation` traces as were emitted
 * when `config.ablation` is on. Returns [] for an invalid tree.
 *
 * Dropped data is counted, never silent: `linearize.invalid_trees`, `linearize.search_skipped_no_wrong`
 * (no wrong terminal for a search trace), `linearize.k_reduced` (fewer distinct wrong answers than
 * k), `linearize.too_long` (over `maxTraceChars`), `linearize.reverify_failed` (last box not
 * correct); `linearize.trees` and `linearize.traces` count the work done. Deterministic for a seed: n* and the wrong terminals of variant i come from
 * `deriveSeed(seed, tree_id, i)`, and `created_at` is the tree's.
 */
export async function linearizeTree(tree: VerifiedTree, config: LinearizeConfig, deps: LinearizeTreeDeps): Promise<Trace[]> {
  const metrics = deps.metrics ?? noopMetrics;
  const index = indexTree(tree.nodes);
  const { correct, incorrect } = collectTerminals(index);
  if (!tree.valid || correct.length === 0) {
    metrics.increment('linearize.invalid_trees');
    return [];
  }
  // Self-evaluation and rewriting change the traces, so they are part of the config hash (and the trace ids) when on.
  const hash =
    deps.selfEval === undefined && deps.rewrite === undefined
      ? linearizeConfigHash(config)
      : configHash({ linearize: linearizeConfigHash(config), selfEval: deps.selfEval?.config, rewrite: deps.rewrite?.config });
  let targets = correct;
  if (deps.selfEval !== undefined) {
    targets = await filterBySelfEval(tree.problem, index, correct, deps.selfEval.config, { judge: deps.selfEval.judge, metrics });
    if (targets.length === 0) {
      metrics.increment('linearize.self_eval_empty');
      return [];
    }
  }
  metrics.increment('linearize.trees');
  // The same for every trace of the tree: computed once.
  const shared: SharedFields = { prompt: deps.domain.prompt(tree.problem), problemJson: JSON.stringify(tree.problem), verifier: verifierId(deps.verifier) };
  const emit = (plan: Plan, reflections: boolean): Promise<Trace | null> => writeTrace(tree, index, plan, reflections, config, hash, shared, deps, metrics);

  const traces: Trace[] = [];
  for (const [variantIndex, k] of config.kMix.entries()) {
    const rng = createRng(deriveSeed(config.seed, tree.tree_id, variantIndex));
    const target = chooseTarget(targets, rng);
    if (target === undefined) continue;
    if (k === 0) {
      const trace = await emit({ variant: 'direct', variantIndex, sequence: nodeSequence(index, target.id, []) }, true);
      if (trace !== null) traces.push(trace);
      continue;
    }
    const wrong = chooseWrongTerminals(incorrect, k, rng);
    if (wrong.chosen.length === 0) {
      metrics.increment('linearize.search_skipped_no_wrong');
      continue;
    }
    if (wrong.chosen.length < k) metrics.increment('linearize.k_reduced');
    const sequence = nodeSequence(index, target.id, wrong.chosen.map((n) => n.id));
    const trace = await emit({ variant: 'search', variantIndex, sequence }, true);
    if (trace !== null) traces.push(trace);
  }

  if (config.ablation) {
    // Same n* as the trace it is matched with: the two arms then differ only by the search and
    // reflection text, which is what the ablation measures.
    const matched = [...traces];
    for (const [j, original] of matched.entries()) {
      const target = original.node_path[original.node_path.length - 1] as number;
      const plan: Plan = { variant: 'direct_ablation', variantIndex: config.kMix.length + j, sequence: nodeSequence(index, target, []) };
      const trace = await emit(plan, false);
      if (trace !== null) traces.push(trace);
    }
  }
  metrics.increment('linearize.traces', traces.length);
  return traces;
}

async function writeTrace(
  tree: VerifiedTree,
  index: TreeIndex,
  plan: Plan,
  reflections: boolean,
  config: LinearizeConfig,
  hash: string,
  shared: SharedFields,
  deps: LinearizeTreeDeps,
  metrics: Metrics,
): Promise<Trace | null> {
  const rendered = renderTrace(index, plan.sequence, terminalAnswer(index.node(plan.sequence.target)), {
    reflections,
    reflectionMinQ: config.reflectionMinQ,
    reflectionEverySteps: config.reflectionEverySteps,
    describeStep: (step) => deps.domain.describeStep(step),
  });
  const completion = deps.rewrite === undefined ? rendered.completion : await rewriteCompletion(rendered.completion, tree.problem.question, deps.rewrite.config, { rewriter: deps.rewrite.rewriter, metrics });
  if (config.maxTraceChars !== undefined && completion.length > config.maxTraceChars) {
    metrics.increment('linearize.too_long');
    return null;
  }
  const answer = lastBoxed(completion);
  const verdict = answer === null ? null : deps.verifier.verifyNow !== undefined ? deps.verifier.verifyNow(tree.problem, completion) : await deps.verifier.verify(tree.problem, completion);
  if (answer === null || verdict === null || !verdict.correct) {
    metrics.increment('linearize.reverify_failed');
    return null;
  }
  const prompt = shared.prompt;
  return {
    trace_id: stableId('trace', tree.tree_id, hash, plan.variantIndex),
    tree_id: tree.tree_id,
    problem_id: tree.problem_id,
    domain: tree.problem.domain,
    source: tree.problem.source,
    problem_json: shared.problemJson,
    prompt,
    completion,
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: completion },
    ],
    answer,
    correct: true,
    variant: plan.variant,
    k: plan.sequence.wrongTerminals.length,
    num_backtracks: rendered.numBacktracks,
    num_reflections: rendered.numReflections,
    node_path: [...plan.sequence.path],
    policy_version: tree.policy_version,
    linearizer: linearizerId,
    linearizer_config_hash: hash,
    verifier: shared.verifier,
    created_at: tree.created_at,
  };
}

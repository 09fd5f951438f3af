import { configHash, stableId } from '../common/hash.js';
import { noopMetrics, type Metrics } from '../common/metrics.js';
import type { Domain } from '../../domains/domain.js';
import type { Trace } from '../../schemas/trace.js';
import type { VerifiedTree } from '../../schemas/verifiedTree.js';
import { verifierId, type Verifier } from '../verify/verifier.js';
import { terminalAnswer } from './chooseTerminals.js';
import { lastBoxed } from './lastBoxed.js';
import { linearizeConfigHash, linearizerId, type LinearizeConfig } from './linearizeConfig.js';
import { planAblation, planMix, type Plan } from './planTraces.js';
import { renderTrace } from './renderTrace.js';
import { rewriteCompletion, type RewriteConfig, type TextRewriter } from './rewrite.js';
import { filterBySelfEval, type SelfEvalConfig, type SolutionJudge } from './selfEval.js';
import { collectTerminals } from './terminals.js';
import { ESTIMATED_TOKENS, estimateTokens, surelyWithin, type TokenCounter } from './tokenCount.js';
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
  /** Counts tokens for `maxTraceTokens`: the policy's tokenizer when it has one; default {@link ESTIMATED_TOKENS}. */
  readonly tokenizer?: TokenCounter;
}

/** Trace fields and state shared by every trace of one tree. */
interface TreeContext {
  readonly prompt: string;
  readonly problemJson: string;
  readonly verifier: string;
  /** Completions written for this tree: a repeat is dropped, whatever path produced it. */
  readonly completions: Set<string>;
  /** Tokens of the prompt, counted once per tree when a trace needs counting. */
  promptTokens: number | null;
}

/**
 * Turns one verified tree into training traces (ASTRO-METHOD §3–4): one per `kMix` entry (k = 0 a
 * `direct` trace, k ≥ 1 a `search` trace), plus a count-matched `direct_ablation` arm when
 * `config.ablation` is on. No two traces of a tree share a node path or a completion
 * (planTraces.ts): a tree with fewer distinct paths gives fewer traces. Returns [] for an invalid tree.
 *
 * Dropped data is counted, never silent: `linearize.invalid_trees`, `linearize.search_skipped_no_wrong`
 * (no wrong terminal for a search trace), `linearize.k_reduced` (fewer distinct wrong answers than
 * k), `linearize.repeat_skipped` / `linearize.ablation_unmatched` / `linearize.repeat_text_dropped`
 * (no new path or text left), `linearize.too_long` (over `maxTraceChars`),
 * `linearize.too_long_tokens` (over `maxTraceTokens`; `linearize.token_counts.exact|estimated`
 * say how the traces that needed counting were counted), `linearize.reverify_failed` (last box
 * not correct); `linearize.trees` and `linearize.traces` count the work done. Deterministic for a
 * seed: the draws of variant i come from `deriveSeed(seed, tree_id, i, …)`, and `created_at` is the tree's.
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
  const context: TreeContext = {
    prompt: deps.domain.prompt(tree.problem),
    problemJson: JSON.stringify(tree.problem),
    verifier: verifierId(deps.verifier),
    completions: new Set(),
    promptTokens: null,
  };
  const emit = (plan: Plan, reflections: boolean): Promise<Trace | null> => writeTrace(tree, index, plan, reflections, config, hash, context, deps, metrics);

  const traces: Trace[] = [];
  for (const plan of planMix(index, targets, incorrect, config, tree.tree_id, metrics)) {
    const trace = await emit(plan, true);
    if (trace !== null) traces.push(trace);
  }
  if (config.ablation) {
    // Matched to the traces written: each one's own n* when no ablation trace took it yet.
    const matched = traces.map((t) => t.node_path[t.node_path.length - 1] as number);
    for (const plan of planAblation(index, targets, matched, config, tree.tree_id, metrics)) {
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
  context: TreeContext,
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
  if (context.completions.has(completion)) {
    metrics.increment('linearize.repeat_text_dropped');
    return null;
  }
  if (await overTokenCap(context, completion, config.maxTraceTokens, deps.tokenizer ?? ESTIMATED_TOKENS, metrics)) {
    metrics.increment('linearize.too_long_tokens');
    return null;
  }
  const answer = lastBoxed(completion);
  const verdict = answer === null ? null : deps.verifier.verifyNow !== undefined ? deps.verifier.verifyNow(tree.problem, completion) : await deps.verifier.verify(tree.problem, completion);
  if (answer === null || verdict === null || !verdict.correct) {
    metrics.increment('linearize.reverify_failed');
    return null;
  }
  context.completions.add(completion);
  const prompt = context.prompt;
  return {
    trace_id: stableId('trace', tree.tree_id, hash, plan.variantIndex),
    tree_id: tree.tree_id,
    problem_id: tree.problem_id,
    domain: tree.problem.domain,
    source: tree.problem.source,
    problem_json: context.problemJson,
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
    verifier: context.verifier,
    created_at: tree.created_at,
  };
}

/**
 * Whether prompt and completion together exceed `maxTokens` (the SFT context). Only a text long
 * enough in bytes to possibly exceed the cap is tokenized ({@link surelyWithin}); the prompt is
 * counted once per tree. A tokenizer that fails falls back to the estimate (counted).
 */
async function overTokenCap(context: TreeContext, completion: string, maxTokens: number, tokenizer: TokenCounter, metrics: Metrics): Promise<boolean> {
  if (surelyWithin(`${context.prompt}${completion}`, maxTokens)) return false;
  let tokens: number;
  try {
    context.promptTokens ??= await tokenizer.count(context.prompt);
    tokens = context.promptTokens + (await tokenizer.count(completion));
    metrics.increment(tokenizer.exact ? 'linearize.token_counts.exact' : 'linearize.token_counts.estimated');
  } catch {
    // A tokenizer that cannot answer (its server is down) must not cost the tree: estimate, and say so.
    metrics.increment('linearize.tokenizer_failures');
    metrics.increment('linearize.token_counts.estimated');
    tokens = estimateTokens(context.prompt) + estimateTokens(completion);
  }
  return tokens > maxTokens;
}

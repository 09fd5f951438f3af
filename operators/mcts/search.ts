import type { Problem } from '../../schemas/problem.js';
import type { SearchStats, SearchTree, TreeNode } from '../../schemas/searchTree.js';
import { AppError } from '../common/errors.js';
import { stableId } from '../common/hash.js';
import { noopMetrics, type Metrics } from '../common/metrics.js';
import { deriveSeed } from '../common/rng.js';
import { verifierId, type Verifier } from '../verify/verifier.js';
import { selectCandidates } from './candidates.js';
import { isTerminalStep, type Policy, type SearchState } from './policy.js';
import { toSearchSettings, type SearchConfig } from './searchConfig.js';
import { selectPath } from './selection.js';

/** Capabilities the search needs; all injected (STYLE.md). */
export interface SearchDeps {
  readonly policy: Policy;
  readonly verifier: Verifier;
  /** Epoch ms; stamps `created_at` and measures `duration_ms`. */
  readonly clock: () => number;
  readonly metrics?: Metrics;
}

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] };
type MutableStats = { -readonly [K in keyof SearchStats]: SearchStats[K] };

/**
 * Runs MCTS on one problem exactly as ASTRO-METHOD §2 and returns the whole tree.
 *
 * - Node 0 is the root (empty step). Its R is the mean verified success of M rollouts from the
 *   problem itself, so Q(root) is defined from the start (`rollouts` = M on the root).
 * - Every node keeps sums: for a node with children `visits = 1 + Σ child visits` and
 *   `value_sum = R + Σ child value_sum`. Expanding a node adds each new child (visits 1,
 *   value_sum R) and adds those totals to every ancestor.
 * - When selection ends at a node that cannot be expanded (a terminal, a non-terminal at the depth
 *   cap, or a node whose expansion kept no step), the iteration is spent revisiting it: that node
 *   and its ancestors get visits += 1 and value_sum += its R. Such nodes stay leaves, so for a
 *   leaf `value_sum = R · visits`, and the identities above still hold for every inner node.
 * - Every sample is seeded by what is sampled (`deriveSeed(seed, problem id, node id, kind)`), and
 *   one problem's search is sequential, so the tree does not depend on concurrency across problems.
 */
export async function searchTree(problem: Problem, config: SearchConfig, deps: SearchDeps): Promise<SearchTree> {
  const { policy, verifier } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const started = deps.clock();
  const settings = toSearchSettings(config);
  const nodes: MutableNode[] = [];
  // Child ids per node, ascending: what selection walks.
  const children: number[][] = [];
  // Prompt/completion tokens come from `policy.takeUsage` (backends that attribute usage per
  // problem); others leave them 0. Taking once here drops what an earlier failed attempt left.
  policy.takeUsage?.(problem.id);
  const stats: MutableStats = {
    iterations: 0,
    step_samples: 0,
    rollouts: 0,
    policy_calls: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    duration_ms: 0,
  };

  const stateOf = (id: number): SearchState => {
    const steps: string[] = [];
    for (let n = nodes[id]; n !== undefined && n.parent >= 0; n = nodes[n.parent]) steps.push(n.step);
    return { problem, steps: steps.reverse() };
  };

  /**
   * Mean verified success of M rollouts from each state, in one batched call. The call's seed is
   * keyed by the first node rolled out from (the root: 0; an expansion: its first rolled child),
   * so no two calls of one search share a seed; backends derive per-state seeds from it.
   */
  const estimate = async (states: readonly SearchState[], seedNodeId: number, depth: number): Promise<{ r: number; n: number }[]> => {
    if (config.rollouts === 0 || states.length === 0) return states.map(() => ({ r: 0, n: 0 }));
    const seed = deriveSeed(config.seed, problem.id, seedNodeId, 'rollout');
    const maxSteps = config.rolloutMaxSteps ?? config.maxDepth - depth;
    const batches = await policy.rollout(states, config.rollouts, { seed, temperature: config.temperature, topP: config.topP, maxSteps });
    stats.policy_calls += 1;
    if (batches.length !== states.length) {
      throw new AppError('policy', `rollout returned ${batches.length} lists for ${states.length} states`);
    }
    return Promise.all(
      batches.map(async (rollouts) => {
        stats.rollouts += rollouts.length;
        metrics.increment('mcts.rollouts', rollouts.length);
        const wins = await Promise.all(
          rollouts.map(async (r) => {
            // A truncated rollout never stated an answer: it scores 0 without asking the verifier.
            if (r.truncated) {
              metrics.increment('mcts.rollouts_truncated');
              return 0;
            }
            return (await verifier.verify(problem, r.text)).correct ? 1 : 0;
          }),
        );
        const n = rollouts.length;
        return { r: n === 0 ? 0 : wins.reduce<number>((a, b) => a + b, 0) / n, n };
      }),
    );
  };

  const addNode = (parent: number, depth: number, step: string, prior: number): MutableNode => {
    const node: MutableNode = {
      id: nodes.length,
      parent,
      depth,
      step,
      prior,
      visits: 1,
      value_sum: 0,
      rollout_estimate: 0,
      rollouts: 0,
      terminal: parent >= 0 && isTerminalStep(step),
      expanded: false,
      answer: null,
      correct: null,
    };
    nodes.push(node);
    children.push([]);
    if (parent >= 0) children[parent]?.push(node.id);
    return node;
  };

  const setEstimate = (node: MutableNode, r: number, n: number): void => {
    node.rollout_estimate = r;
    node.value_sum = r;
    node.rollouts = n;
  };

  /** One expansion: returns the new children (already scored), possibly none. */
  const expand = async (leaf: MutableNode): Promise<MutableNode[]> => {
    const seed = deriveSeed(config.seed, problem.id, leaf.id, 'expand');
    const proposed = await policy.proposeSteps([stateOf(leaf.id)], config.k, { seed, temperature: config.temperature, topP: config.topP });
    stats.policy_calls += 1;
    const proposals = proposed[0];
    if (proposed.length !== 1 || proposals === undefined) {
      throw new AppError('policy', `proposeSteps returned ${proposed.length} lists for 1 state`);
    }
    stats.step_samples += proposals.length;
    metrics.increment('mcts.step_samples', proposals.length);
    const existing = (children[leaf.id] ?? []).map((id) => nodes[id]?.step ?? '');
    const { candidates, dropped } = selectCandidates(proposals, existing);
    metrics.increment('mcts.steps_duplicate_dropped', dropped);
    leaf.expanded = true;
    const born = candidates.map((c) => addNode(leaf.id, leaf.depth + 1, c.text, c.prior));

    const toRoll = born.filter((c) => !c.terminal && c.depth < config.maxDepth);
    const [verdicts, estimates] = await Promise.all([
      Promise.all(born.filter((c) => c.terminal).map(async (c) => [c, await verifier.verify(problem, c.step)] as const)),
      estimate(toRoll.map((c) => stateOf(c.id)), toRoll[0]?.id ?? 0, leaf.depth + 1),
    ]);
    for (const [c, verdict] of verdicts) {
      setEstimate(c, verdict.correct ? 1 : 0, 0);
      c.answer = verdict.extracted;
      c.correct = verdict.correct;
    }
    toRoll.forEach((c, i) => {
      const e = estimates[i] ?? { r: 0, n: 0 };
      setEstimate(c, e.r, e.n);
    });
    // Children at the cap without an answer keep R = 0: dead ends, never rolled out.
    return born;
  };

  const root = addNode(-1, 0, '', 1);
  const [rootEstimate] = await estimate([stateOf(0)], 0, 0);
  setEstimate(root, rootEstimate?.r ?? 0, rootEstimate?.n ?? 0);

  for (let i = 0; i < config.iterations; i += 1) {
    stats.iterations += 1;
    const path = selectPath(nodes, children, config.cPuct);
    const leaf = nodes[path[path.length - 1] ?? 0];
    if (leaf === undefined) throw new RangeError('selection left the tree');
    const expandable = !leaf.expanded && !leaf.terminal && leaf.depth < config.maxDepth;
    const born = expandable ? await expand(leaf) : [];
    if (born.length > 0) {
      metrics.increment('mcts.expansions');
      const r = born.reduce((a, c) => a + c.rollout_estimate, 0);
      for (const id of path) {
        const n = nodes[id];
        if (n === undefined) continue;
        n.visits += born.length;
        n.value_sum += r;
      }
    } else {
      metrics.increment(expandable ? 'mcts.expansions_empty' : 'mcts.revisits');
      for (const id of path) {
        const n = nodes[id];
        if (n === undefined) continue;
        n.visits += 1;
        n.value_sum += leaf.rollout_estimate;
      }
    }
  }

  const usage = policy.takeUsage?.(problem.id);
  if (usage !== undefined) {
    stats.prompt_tokens = usage.promptTokens;
    stats.completion_tokens = usage.completionTokens;
    // Such backends count requests (one per state and call, retries excluded): what the server saw.
    stats.policy_calls = usage.calls;
  }
  const finished = deps.clock();
  stats.duration_ms = Math.max(0, finished - started);
  metrics.increment('mcts.trees');
  metrics.increment('mcts.iterations', stats.iterations);
  metrics.observe('mcts.search_ms', stats.duration_ms);
  metrics.observe('mcts.tree_nodes', nodes.length);
  return {
    // rolloutMaxSteps is not a tree setting column; hashing it only when set keeps old ids stable.
    tree_id: stableId('tree', problem.id, { ...settings, rollout_max_steps: config.rolloutMaxSteps }, policy.version, config.seed),
    problem_id: problem.id,
    problem,
    policy_version: policy.version,
    search_verifier: verifierId(verifier),
    seed: config.seed,
    settings,
    nodes: nodes.map((n) => ({ ...n })),
    stats: { ...stats },
    created_at: finished,
  };
}

import type { Problem } from '../../schemas/problem.js';
import type { SearchStats, SearchTree, TreeNode } from '../../schemas/searchTree.js';
import { AppError } from '../common/errors.js';
import { stableId } from '../common/hash.js';
import { noopMetrics } from '../common/metrics.js';
import { deriveSeed } from '../common/rng.js';
import { verifierId } from '../verify/verifier.js';
import { selectCandidates } from './candidates.js';
import { isTerminalStep, type SearchState } from './policy.js';
import type { SearchDeps } from './search.js';
import { toSearchSettings, type SearchConfig } from './searchConfig.js';
import { puctScore } from './selection.js';

/** How many iterations of one tree may be in flight, and how hard in-flight paths are discouraged. */
export interface ParallelSearchConfig extends SearchConfig {
  /** Iterations of this tree in flight at once (1 = the sequential search, node for node). */
  readonly parallelIterations: number;
  /** Visits with value 0 added along a path while its expansion is in flight (default 1). */
  readonly virtualLoss?: number;
}

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] };
type MutableStats = { -readonly [K in keyof SearchStats]: SearchStats[K] };

/**
 * MCTS (ASTRO-METHOD §2) with several iterations of one tree in flight, so a slow policy server
 * always has work. Selection descends by PUCT over visits that include a *virtual loss* (visits
 * with value 0) on every path whose expansion is still running, so concurrent iterations spread
 * over different leaves; a leaf being expanded is never selected twice, and a leaf that cannot be
 * expanded is revisited only when nothing is in flight. An expansion's children
 * become visible only once all of them are scored, and its backup is the same as the sequential
 * search's, so the tree invariants hold whatever the completion order.
 *
 * With `parallelIterations = 1` the tree is identical to {@link searchTree}'s (same ids, same
 * seeds). With more, samples are still seeded by what is sampled, but the tree's shape depends on
 * which expansion finishes first: it is not reproducible, and its `tree_id` records the
 * parallelism so it never collides with a sequential tree's.
 */
export async function searchTreeParallel(problem: Problem, config: ParallelSearchConfig, deps: SearchDeps): Promise<SearchTree> {
  const { policy, verifier } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const parallel = Math.max(1, Math.floor(config.parallelIterations));
  const virtualLoss = config.virtualLoss ?? 1;
  const started = deps.clock();
  const settings = toSearchSettings(config);
  const nodes: MutableNode[] = [];
  const children: number[][] = [];
  // Leaves whose expansion is in flight: never selected again until it lands.
  const pending = new Set<number>();
  policy.takeUsage?.(problem.id);
  const stats: MutableStats = { iterations: 0, step_samples: 0, rollouts: 0, policy_calls: 0, prompt_tokens: 0, completion_tokens: 0, duration_ms: 0 };

  const stateOf = (id: number): SearchState => {
    const steps: string[] = [];
    for (let n = nodes[id]; n !== undefined && n.parent >= 0; n = nodes[n.parent]) steps.push(n.step);
    return { problem, steps: steps.reverse() };
  };

  const estimate = async (states: readonly SearchState[], seedNodeId: number, depth: number): Promise<{ r: number; n: number }[]> => {
    if (config.rollouts === 0 || states.length === 0) return states.map(() => ({ r: 0, n: 0 }));
    const seed = deriveSeed(config.seed, problem.id, seedNodeId, 'rollout');
    const maxSteps = config.rolloutMaxSteps ?? config.maxDepth - depth;
    const batches = await policy.rollout(states, config.rollouts, { seed, temperature: config.temperature, topP: config.topP, maxSteps });
    stats.policy_calls += 1;
    if (batches.length !== states.length) throw new AppError('policy', `rollout returned ${batches.length} lists for ${states.length} states`);
    return Promise.all(
      batches.map(async (rollouts) => {
        stats.rollouts += rollouts.length;
        metrics.increment('mcts.rollouts', rollouts.length);
        const wins = await Promise.all(rollouts.map(async (r) => (r.truncated ? 0 : (await verifier.verify(problem, r.text)).correct ? 1 : 0)));
        const n = rollouts.length;
        return { r: n === 0 ? 0 : wins.reduce<number>((a, b) => a + b, 0) / n, n };
      }),
    );
  };

  const addNode = (parent: number, depth: number, step: string, prior: number): MutableNode => {
    const node: MutableNode = { id: nodes.length, parent, depth, step, prior, visits: 1, value_sum: 0, rollout_estimate: 0, rollouts: 0, terminal: parent >= 0 && isTerminalStep(step), expanded: false, answer: null, correct: null };
    nodes.push(node);
    children.push([]);
    return node;
  };

  const setEstimate = (node: MutableNode, r: number, n: number): void => {
    node.rollout_estimate = r;
    node.value_sum = r;
    node.rollouts = n;
  };

  const expand = async (leaf: MutableNode): Promise<MutableNode[]> => {
    const seed = deriveSeed(config.seed, problem.id, leaf.id, 'expand');
    const proposed = await policy.proposeSteps([stateOf(leaf.id)], config.k, { seed, temperature: config.temperature, topP: config.topP });
    stats.policy_calls += 1;
    const proposals = proposed[0];
    if (proposed.length !== 1 || proposals === undefined) throw new AppError('policy', `proposeSteps returned ${proposed.length} lists for 1 state`);
    stats.step_samples += proposals.length;
    metrics.increment('mcts.step_samples', proposals.length);
    const { candidates, dropped } = selectCandidates(proposals, []);
    metrics.increment('mcts.steps_duplicate_dropped', dropped);
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
    // Children appear only now, scored: a concurrent selection never descends into an unscored node.
    leaf.expanded = true;
    children[leaf.id] = born.map((c) => c.id);
    return born;
  };

  /** PUCT descent that skips pending leaves; null when every reachable leaf is pending. */
  const select = (id: number, path: number[]): number[] | null => {
    const node = nodes[id];
    if (node === undefined) throw new RangeError(`no node ${id}`);
    const here = [...path, id];
    if (!node.expanded) return pending.has(id) ? null : here;
    const kids = children[id] ?? [];
    if (kids.length === 0) return here;
    // Highest score first, ties to the lowest id (as selectChild); blocked subtrees fall through to the next best.
    const ranked = kids
      .map((c) => ({ c, s: puctScore(nodes[c] as MutableNode, node.visits, config.cPuct) }))
      .sort((a, b) => b.s - a.s || a.c - b.c);
    for (const { c } of ranked) {
      const found = select(c, here);
      if (found !== null) return found;
    }
    return null;
  };

  const backup = (path: readonly number[], visits: number, value: number): void => {
    for (const id of path) {
      const n = nodes[id];
      if (n === undefined) continue;
      n.visits += visits;
      n.value_sum += value;
    }
  };

  const root = addNode(-1, 0, '', 1);
  const [rootEstimate] = await estimate([stateOf(0)], 0, 0);
  setEstimate(root, rootEstimate?.r ?? 0, rootEstimate?.n ?? 0);

  const inFlight = new Set<Promise<void>>();
  let launched = 0;
  let failure: unknown;
  while ((launched < config.iterations || inFlight.size > 0) && failure === undefined) {
    while (launched < config.iterations && inFlight.size < parallel) {
      const path = select(0, []);
      if (path === null) break; // every leaf worth trying is being expanded: wait for one
      const leaf = nodes[path[path.length - 1] ?? 0];
      if (leaf === undefined) throw new RangeError('selection left the tree');
      const expandable = !leaf.expanded && !leaf.terminal && leaf.depth < config.maxDepth;
      // A revisit is instant: spent while expansions are pending, it would burn the budget on
      // leaves chosen only because the best ones are busy. Wait for them instead.
      if (!expandable && inFlight.size > 0) break;
      launched += 1;
      stats.iterations += 1;
      if (!expandable) {
        metrics.increment('mcts.revisits');
        backup(path, 1, leaf.rollout_estimate);
        continue;
      }
      pending.add(leaf.id);
      backup(path, virtualLoss, 0);
      const job = expand(leaf)
        .then((born) => {
          backup(path, -virtualLoss, 0);
          if (born.length > 0) {
            metrics.increment('mcts.expansions');
            backup(path, born.length, born.reduce((a, c) => a + c.rollout_estimate, 0));
          } else {
            leaf.expanded = true;
            metrics.increment('mcts.expansions_empty');
            backup(path, 1, leaf.rollout_estimate);
          }
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => {
          pending.delete(leaf.id);
          inFlight.delete(job);
        });
      inFlight.add(job);
    }
    if (inFlight.size > 0) await Promise.race(inFlight);
    else if (launched < config.iterations) throw new RangeError('parallel search stalled with nothing in flight');
  }
  // Let every request still running settle before reporting the first failure.
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;

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
  const idSettings = { ...settings, rollout_max_steps: config.rolloutMaxSteps, parallel_iterations: parallel > 1 ? parallel : undefined, virtual_loss: parallel > 1 ? virtualLoss : undefined };
  return {
    tree_id: stableId('tree', problem.id, idSettings, policy.version, config.seed),
    problem_id: problem.id,
    problem,
    policy_version: policy.version,
    search_verifier: verifierId(verifier),
    search_verifier_config_hash: verifier.configHash,
    seed: config.seed,
    settings,
    nodes: nodes.map((n) => ({ ...n })),
    stats: { ...stats },
    created_at: finished,
  };
}

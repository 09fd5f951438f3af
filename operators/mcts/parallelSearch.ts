import type { Problem } from '../../schemas/problem.js';
import type { SearchStats, SearchTree, TreeNode } from '../../schemas/searchTree.js';
import { AppError } from '../common/errors.js';
import { stableId } from '../common/hash.js';
import { noopMetrics, type Metrics } from '../common/metrics.js';
import { deriveSeed } from '../common/rng.js';
import { verifierId, type Verifier } from '../verify/verifier.js';
import { backupLegacy, backupPaper, markSpent } from './backup.js';
import { selectCandidates } from './candidates.js';
import { isTerminalStep, POLICY_VERSION_JOIN, type Policy, type SearchState } from './policy.js';
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
 * expanded is visited only when nothing is in flight. An expansion's children become visible
 * only once all of them are scored, and its backup is the same as the sequential search's, so
 * the tree invariants hold whatever the completion order.
 *
 * The backup is `config.backup` (backup.ts): the paper's by default. What selection does with a
 * spent subtree is `config.exhausted`: skipped by default, so iterations go to expansions and
 * first visits, and the search stops early (counted) when nothing is left to expand.
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
  const paper = (config.backup ?? 'paper') === 'paper';
  const skipSpent = (config.exhausted ?? 'skip') === 'skip';
  const started = deps.clock();
  const settings = toSearchSettings(config);
  const nodes: MutableNode[] = [];
  const children: number[][] = [];
  // Leaves whose expansion is in flight: never selected again until it lands.
  const pending = new Set<number>();
  // Virtual visits (value 0) of in-flight iterations, by node id.
  const virtual: number[] = [];
  // Spent subtrees (backup.ts markSpent), by node id: selection skips them when skipSpent.
  const spent: boolean[] = [];
  // Leaves that ended an iteration already: a later one is a revisit (legacy children are born with a visit).
  const ended = new Set<number>();
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

  // The paper's children start unvisited; the legacy backup counted each as one visit at birth.
  // The root is visited once before any iteration (its estimate), so it ends with iterations + 1.
  const addNode = (parent: number, depth: number, step: string, prior: number): MutableNode => {
    const visits = parent < 0 || !paper ? 1 : 0;
    const node: MutableNode = { id: nodes.length, parent, depth, step, prior, visits, value_sum: 0, rollout_estimate: 0, rollouts: 0, terminal: parent >= 0 && isTerminalStep(step), expanded: false, answer: null, correct: null };
    nodes.push(node);
    children.push([]);
    virtual.push(0);
    spent.push(false);
    return node;
  };

  const setEstimate = (node: MutableNode, r: number, n: number): void => {
    node.rollout_estimate = r;
    node.value_sum = r * node.visits;
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

  /** One iteration's backup along its path; `born` = the children its expansion created. */
  const backup = (path: readonly number[], born: readonly MutableNode[]): void => {
    const leaf = nodes[path[path.length - 1] ?? 0] as MutableNode;
    if (paper) backupPaper(nodes, children, path);
    else if (born.length > 0) backupLegacy(nodes, path, born.length, born.reduce((a, c) => a + c.rollout_estimate, 0));
    else backupLegacy(nodes, path, 1, leaf.rollout_estimate);
    markSpent(nodes, children, path, config.maxDepth, spent);
  };

  const select = (): number[] | null =>
    selectPath(nodes, children, config.cPuct, { virtual, blocked: (id) => pending.has(id) || (skipSpent && spent[id] === true) });

  const addVirtual = (path: readonly number[], by: number): void => {
    for (const id of path) virtual[id] = (virtual[id] ?? 0) + by;
  };

  const root = addNode(-1, 0, '', 1);
  const [rootEstimate] = await estimate([stateOf(0)], 0, 0);
  setEstimate(root, rootEstimate?.r ?? 0, rootEstimate?.n ?? 0);

  const inFlight = new Set<Promise<void>>();
  let launched = 0;
  let failure: unknown;
  let exhausted = false;
  while ((launched < config.iterations || inFlight.size > 0) && failure === undefined && !exhausted) {
    while (launched < config.iterations && inFlight.size < parallel) {
      const path = select();
      if (path === null) {
        // Nothing selectable: either every open leaf is being expanded (wait for one), or,
        // with nothing in flight, every subtree is spent and the search is done.
        if (inFlight.size === 0 && !skipSpent) throw new RangeError('parallel search stalled with nothing in flight');
        exhausted = inFlight.size === 0;
        break;
      }
      const leaf = nodes[path[path.length - 1] ?? 0];
      if (leaf === undefined) throw new RangeError('selection left the tree');
      const expandable = !leaf.expanded && !leaf.terminal && leaf.depth < config.maxDepth;
      // A visit of a leaf is instant: spent while expansions are pending, it would burn the budget
      // on leaves chosen only because the best ones are busy. Wait for them instead.
      if (!expandable && inFlight.size > 0) break;
      launched += 1;
      stats.iterations += 1;
      if (!expandable) {
        // A terminal or dead end seen for the first time (its estimate enters the parent's mean), or a revisit.
        metrics.increment(ended.has(leaf.id) ? 'mcts.revisits' : 'mcts.first_visits');
        ended.add(leaf.id);
        backup(path, []);
        continue;
      }
      pending.add(leaf.id);
      ended.add(leaf.id);
      addVirtual(path, virtualLoss);
      const job = expand(leaf)
        .then((born) => {
          addVirtual(path, -virtualLoss);
          if (born.length > 0) metrics.increment('mcts.expansions');
          else {
            leaf.expanded = true;
            metrics.increment('mcts.expansions_empty');
          }
          backup(path, born);
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
    else if (launched < config.iterations && !exhausted) throw new RangeError('parallel search stalled with nothing in flight');
  }
  if (exhausted) metrics.increment('mcts.exhausted_trees');
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
  // A backend that changed models mid-tree names every version that answered (oldest first, so
  // the version number read from it is the most conservative one for staleness checks).
  const version = usage?.versions !== undefined && usage.versions.length > 0 ? usage.versions.join(POLICY_VERSION_JOIN) : policy.version;
  const idSettings = { ...settings, rollout_max_steps: config.rolloutMaxSteps, parallel_iterations: parallel > 1 ? parallel : undefined, virtual_loss: parallel > 1 ? virtualLoss : undefined };
  return {
    tree_id: stableId('tree', problem.id, idSettings, version, config.seed),
    problem_id: problem.id,
    problem,
    policy_version: version,
    search_verifier: verifierId(verifier),
    search_verifier_config_hash: verifier.configHash,
    seed: config.seed,
    settings,
    nodes: nodes.map((n) => ({ ...n })),
    stats: { ...stats },
    created_at: finished,
  };
}

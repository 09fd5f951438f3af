/**
 * The MCTS backup before and after ASTRO-METHOD §2 was followed to the letter, on the same
 * problems in the same run (issue 13): the legacy backup (each new child counts as a visit of
 * every ancestor; spent leaves revisited), the paper's backup read literally (one visit per
 * iteration, children unvisited; spent leaves revisited), and the default (the paper's backup,
 * spent subtrees skipped). Each arm searches the same Countdown problems with the built-in
 * network at the paper's budgets, labels the trees and linearizes them (default k mix, ablation
 * on, as `run --ablation`).
 *
 *   npm run build && node dist/bench/backupRules.js [--problems 40] [--seed 5] [--numbers 4] [--concurrency 4]
 *
 * Writes bench/results/backupRules.{json,md}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countdownDomain } from '../domains/countdown/index.js';
import { InMemoryMetrics } from '../operators/common/metrics.js';
import { countRestarts } from '../operators/linearize/phrases.js';
import { normalizeAnswer } from '../operators/linearize/lastBoxed.js';
import { parseLinearizeConfig } from '../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../operators/linearize/linearizeTree.js';
import { searchTree } from '../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG, type BackupRule, type ExhaustedRule, type SearchConfig } from '../operators/mcts/searchConfig.js';
import { labelTree } from '../operators/verify/labelTree.js';
import { packageRoot } from '../models/paths.js';
import type { Problem } from '../schemas/problem.js';
import type { SearchTree } from '../schemas/searchTree.js';
import type { Trace } from '../schemas/trace.js';
import { createOnnxCountdownPolicy } from '../streams/policies/onnxPolicy.js';

/** One arm of the comparison. */
interface Arm {
  readonly name: string;
  readonly backup: BackupRule;
  readonly exhausted: ExhaustedRule;
}

const ARMS: readonly Arm[] = [
  { name: 'before: legacy backup, revisits', backup: 'legacy', exhausted: 'revisit' },
  { name: 'paper backup, revisits', backup: 'paper', exhausted: 'revisit' },
  { name: 'after: paper backup, spent skipped (default)', backup: 'paper', exhausted: 'skip' },
];

/** What one arm measured. */
interface ArmResult {
  readonly arm: string;
  readonly backup: BackupRule;
  readonly exhausted: ExhaustedRule;
  readonly trees: number;
  readonly valid_tree_rate: number;
  readonly iterations_per_tree: number;
  readonly expansions_per_tree: number;
  readonly first_visits_per_tree: number;
  readonly revisits: number;
  readonly revisit_share: number;
  readonly trees_spent_early: number;
  readonly root_visits_mean: number;
  readonly nodes_per_tree: number;
  readonly wrong_terminals_per_tree: number;
  readonly distinct_wrong_answers_per_tree: number;
  /** Wrong terminals whose boxed answer is a bare number (a give-up, not an attempt). */
  readonly bare_number_wrong_share: number;
  readonly traces: number;
  readonly search_traces: number;
  readonly backtracks: number;
  readonly restart_share: number;
  /** Rows whose completion repeats an earlier row's for the same problem. */
  readonly repeated_completions: number;
  readonly k_reduced: number;
  readonly search_skipped_no_wrong: number;
  readonly wall_ms: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

async function runArm(arm: Arm, problems: readonly Problem[], seed: number, concurrency: number): Promise<ArmResult> {
  const policy = await createOnnxCountdownPolicy({});
  const metrics = new InMemoryMetrics();
  const config: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, seed, backup: arm.backup, exhausted: arm.exhausted };
  const verifier = countdownDomain.verifier;
  const started = performance.now();
  const trees: SearchTree[] = new Array<SearchTree>(problems.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < problems.length; i = next++) {
      trees[i] = await searchTree(problems[i] as Problem, config, { policy, verifier, clock: () => 0, metrics });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const linearize = parseLinearizeConfig({ seed, ablation: true });
  const traces: Trace[] = [];
  const wrongPerTree: number[] = [];
  const distinctWrongPerTree: number[] = [];
  let valid = 0;
  let bare = 0;
  let wrong = 0;
  for (const tree of trees) {
    const verified = await labelTree(tree, verifier);
    if (verified.valid) valid += 1;
    const wrongTerminals = verified.nodes.filter((n) => n.terminal && n.correct === false);
    wrong += wrongTerminals.length;
    bare += wrongTerminals.filter((n) => /^\s*\d+\s*$/.test(n.answer ?? '')).length;
    wrongPerTree.push(wrongTerminals.length);
    distinctWrongPerTree.push(new Set(wrongTerminals.map((n) => normalizeAnswer(n.answer ?? ''))).size);
    traces.push(...(await linearizeTree(verified, linearize, { domain: countdownDomain, verifier, metrics })));
  }
  const wallMs = performance.now() - started;
  await policy.close?.();
  const seen = new Set<string>();
  let repeated = 0;
  for (const t of traces) {
    const key = `${t.problem_id}\u0000${t.completion}`;
    if (seen.has(key)) repeated += 1;
    seen.add(key);
  }
  const backtracks = traces.reduce((a, t) => a + t.num_backtracks, 0);
  const restarts = traces.reduce((a, t) => a + countRestarts(t.completion), 0);
  const iterations = metrics.counter('mcts.iterations');
  return {
    arm: arm.name,
    backup: arm.backup,
    exhausted: arm.exhausted,
    trees: trees.length,
    valid_tree_rate: round(valid / trees.length),
    iterations_per_tree: round(iterations / trees.length, 2),
    expansions_per_tree: round((metrics.counter('mcts.expansions') + metrics.counter('mcts.expansions_empty')) / trees.length, 2),
    first_visits_per_tree: round(metrics.counter('mcts.first_visits') / trees.length, 2),
    revisits: metrics.counter('mcts.revisits'),
    revisit_share: round(metrics.counter('mcts.revisits') / Math.max(1, iterations)),
    trees_spent_early: metrics.counter('mcts.exhausted_trees'),
    root_visits_mean: round(mean(trees.map((t) => t.nodes[0]?.visits ?? 0)), 2),
    nodes_per_tree: round(mean(trees.map((t) => t.nodes.length)), 1),
    wrong_terminals_per_tree: round(mean(wrongPerTree), 2),
    distinct_wrong_answers_per_tree: round(mean(distinctWrongPerTree), 2),
    bare_number_wrong_share: round(bare / Math.max(1, wrong)),
    traces: traces.length,
    search_traces: traces.filter((t) => t.variant === 'search').length,
    backtracks,
    restart_share: round(restarts / Math.max(1, backtracks)),
    repeated_completions: repeated,
    k_reduced: metrics.counter('linearize.k_reduced'),
    search_skipped_no_wrong: metrics.counter('linearize.search_skipped_no_wrong'),
    wall_ms: Math.round(wallMs),
  };
}

const COLUMNS: readonly [keyof ArmResult, string][] = [
  ['valid_tree_rate', 'valid-tree rate'],
  ['iterations_per_tree', 'iterations / tree'],
  ['expansions_per_tree', 'expansions / tree'],
  ['first_visits_per_tree', 'first visits of leaves / tree'],
  ['revisits', 'revisits (all trees)'],
  ['revisit_share', 'revisits / iterations'],
  ['trees_spent_early', 'trees spent before the budget'],
  ['root_visits_mean', 'root visits (mean)'],
  ['nodes_per_tree', 'nodes / tree'],
  ['wrong_terminals_per_tree', 'wrong terminals / tree'],
  ['distinct_wrong_answers_per_tree', 'distinct wrong answers / tree'],
  ['bare_number_wrong_share', 'wrong terminals boxing a bare number'],
  ['traces', 'traces (ablation on)'],
  ['search_traces', 'search traces'],
  ['backtracks', 'backtracks'],
  ['restart_share', 'restarts / backtracks'],
  ['repeated_completions', 'rows repeating a completion of their problem'],
  ['k_reduced', 'search traces with fewer wrong answers than k'],
  ['search_skipped_no_wrong', 'search traces skipped: no wrong terminal'],
  ['wall_ms', 'wall ms (search + linearize)'],
];

function markdown(results: readonly ArmResult[], header: string): string {
  const lines = [header, '', `| | ${results.map((r) => r.arm).join(' | ')} |`, `| --- | ${results.map(() => '---').join(' | ')} |`];
  for (const [key, label] of COLUMNS) lines.push(`| ${label} | ${results.map((r) => String(r[key])).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

const { values } = parseArgs({
  options: { problems: { type: 'string', default: '40' }, seed: { type: 'string', default: '5' }, numbers: { type: 'string', default: '4' }, concurrency: { type: 'string', default: '4' } },
});
const seed = Number(values.seed);
const problems = countdownDomain.generate?.({ count: Number(values.problems), seed, difficulty: Number(values.numbers) }) ?? [];
const results: ArmResult[] = [];
for (const arm of ARMS) results.push(await runArm(arm, problems, seed, Number(values.concurrency)));
const command = `node dist/bench/backupRules.js --problems ${values.problems} --seed ${values.seed} --numbers ${values.numbers} --concurrency ${values.concurrency}`;
const header = `Backup rules on ${problems.length} ${values.numbers}-number Countdown problems (seed ${seed}), built-in network, k = 8, M = 16, 32 iterations; \`${command}\``;
const table = markdown(results, header);
process.stdout.write(table);
const dir = join(packageRoot(), 'bench', 'results');
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'backupRules.json'), `${JSON.stringify({ command, problems: problems.length, numbers: Number(values.numbers), seed, results }, null, 2)}\n`);
await writeFile(join(dir, 'backupRules.md'), table);

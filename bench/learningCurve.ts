// Learning curve of the online trainer: `run --train` for M minutes on 4-number Countdown, then
// every published policy version is evaluated on the same held-out problems (greedy on all of
// them; MCTS at a small fixed budget on a subset of versions). The baseline is the shipped
// initial network measured in the same run. Writes bench/results/learningCurve.{md,png}.
//
//   node dist/bench/learningCurve.js [--minutes 10] [--out /tmp/astro-lc] [--eval-problems 500] [--mcts-problems 100] [--mcts-iterations 8]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRunConfig } from '../streams/cli/runConfig.js';
import { evaluatePolicyFile, type EvalLine } from '../streams/cli/commands/eval.js';
import { runTraining, type TrainingSummary } from '../streams/trainer/runWithTraining.js';
import { parseTrainConfig } from '../streams/trainer/trainConfig.js';
import { packageRoot } from '../models/paths.js';
import { renderLineChart } from './plotPng.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const minutes = Number(arg('minutes', '10'));
const out = arg('out', '/tmp/astro-lc');
const evalProblems = Number(arg('eval-problems', '500'));
const mctsProblems = Number(arg('mcts-problems', '100'));
const mctsIterations = Number(arg('mcts-iterations', '8'));
const extra = JSON.parse(arg('config', '{}')) as Record<string, unknown>;
const command = `node dist/bench/learningCurve.js ${process.argv.slice(2).join(' ')}`.trim();

interface Point {
  readonly version: number;
  readonly minutes: number;
  readonly greedy: EvalLine;
  readonly mcts: EvalLine | null;
}

const config = parseRunConfig({ out, seed: 7, ...extra });
const train = parseTrainConfig({ minutes });
process.stderr.write(`learning curve: run --train --minutes ${minutes} (search ${JSON.stringify(config.search)}) → ${out}\n`);
const summary: TrainingSummary = await runTraining(config, train, {
  onProgress: (p) => process.stderr.write(`  ${(p.elapsedMs / 1000).toFixed(0)} s: v${p.version}, ${p.steps} steps, ${p.trees} trees, ${p.rolloutGroups} rollout groups\n`),
});
const versions = [{ version: 0, path: 'builtin', at: summary.startedAt }, ...summary.trainer.published.map((v) => ({ version: v.version, path: v.path, at: v.created_at }))];
// MCTS costs ~100× greedy per problem: evaluate it on about 8 versions, always including the first and last.
const mctsEvery = Math.max(1, Math.ceil(versions.length / 8));
const points: Point[] = [];
for (const [i, v] of versions.entries()) {
  const greedy = await evaluatePolicyFile(v.path, { problems: evalProblems, seed: 1, numbers: 4, search: { kind: 'greedy' } });
  const mcts = i % mctsEvery === 0 || i === versions.length - 1 ? await evaluatePolicyFile(v.path, { problems: mctsProblems, seed: 1, numbers: 4, search: { kind: 'mcts', iterations: mctsIterations } }) : null;
  points.push({ version: v.version, minutes: (v.at - summary.startedAt) / 60_000, greedy, mcts });
  process.stderr.write(`  v${v.version}: greedy ${greedy.solve_rate.toFixed(3)}${mcts ? `, mcts:${mctsIterations} ${mcts.solve_rate.toFixed(3)}` : ''}\n`);
}
const timed = points;
const first = timed[0];
const last = timed.at(-1);
if (first === undefined || last === undefined) throw new Error('no versions evaluated');
const firstMcts = first.mcts;
const lastMcts = last.mcts;
const gain = (last.greedy.solve_rate - first.greedy.solve_rate) * 100;
const ratio = first.greedy.solve_rate > 0 ? last.greedy.solve_rate / first.greedy.solve_rate : Infinity;
const trainerRate = summary.trainer.rowsTrained / (summary.trainer.trainMs / 1000);

const rows = timed.map((p) => `| ${p.version} | ${p.minutes.toFixed(2)} | ${(p.greedy.solve_rate * 100).toFixed(1)} | ${p.mcts ? (p.mcts.solve_rate * 100).toFixed(1) : ''} |`);
const md = [
  '# Learning curve (online trainer, 4-number Countdown)',
  '',
  `Command: \`${command}\` (after \`npx tsc -p tsconfig.json\`), ${new Date().toISOString().slice(0, 10)}, 2 shared cores.`,
  `Run: \`runTraining\` for ${minutes} min, search ${JSON.stringify({ iterations: config.search.iterations ?? 32, k: config.search.k ?? 8, rollouts: config.search.rollouts ?? 16 })}, train ${JSON.stringify({ batchSize: train.batchSize, exportEverySteps: train.exportEverySteps, learningRate: train.learningRate, visitTemperature: train.visitTemperature, groupSize: train.groupSize })}.`,
  `Held-out set: ${evalProblems} problems (\`eval --seed 1\`); MCTS: ${mctsProblems} of them, \`mcts:${mctsIterations}\` (k=4, M=4, most-visited path answers).`,
  '',
  `**Baseline (initial network, same run): greedy ${(first.greedy.solve_rate * 100).toFixed(1)}%${firstMcts ? `, MCTS ${(firstMcts.solve_rate * 100).toFixed(1)}%` : ''}. Newest (v${last.version}): greedy ${(last.greedy.solve_rate * 100).toFixed(1)}%${lastMcts ? `, MCTS ${(lastMcts.solve_rate * 100).toFixed(1)}%` : ''}. Greedy gain ${gain.toFixed(1)} points (ratio ${Number.isFinite(ratio) ? ratio.toFixed(1) : '∞'}×).**`,
  '',
  `Run totals: ${summary.problemsFed} problems fed, ${summary.trees} trees (${summary.validTrees} valid), ${summary.traces} traces, ${summary.rolloutGroups} rollout groups (${summary.counters['trainer.groups_equal_rewards_skipped'] ?? 0} skipped: equal rewards), ${summary.trainer.steps} optimizer steps, ${summary.trainer.published.length} versions.`,
  `Trainer: ${trainerRate.toFixed(0)} rows/s while stepping; waiting for data ${((summary.trainer.waitingForDataMs / summary.wallMs) * 100).toFixed(1)}% of wall time; producers waiting for the trainer ${((summary.producersWaitingMs / summary.wallMs) * 100).toFixed(1)}%.`,
  '',
  '![learning curve](learningCurve.png)',
  '',
  '| version | minutes | greedy solve % | MCTS solve % |',
  '| --- | --- | --- | --- |',
  ...rows,
  '',
].join('\n');
const resultsDir = join(packageRoot(), 'bench', 'results');
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, 'learningCurve.md'), md);
const png = renderLineChart({
  width: 900,
  height: 420,
  panels: [
    { title: 'SOLVE RATE VS MINUTES', xLabel: 'MINUTES', series: [
      { name: 'GREEDY', color: [31, 119, 180], points: timed.map((p) => [p.minutes, p.greedy.solve_rate * 100] as const) },
      { name: 'MCTS', color: [214, 39, 40], points: timed.filter((p) => p.mcts).map((p) => [p.minutes, (p.mcts?.solve_rate ?? 0) * 100] as const) },
    ] },
    { title: 'SOLVE RATE VS VERSION', xLabel: 'VERSION', series: [
      { name: 'GREEDY', color: [31, 119, 180], points: timed.map((p) => [p.version, p.greedy.solve_rate * 100] as const) },
      { name: 'MCTS', color: [214, 39, 40], points: timed.filter((p) => p.mcts).map((p) => [p.version, (p.mcts?.solve_rate ?? 0) * 100] as const) },
    ] },
  ],
});
await writeFile(join(resultsDir, 'learningCurve.png'), png);
process.stdout.write(`${md}\n`);

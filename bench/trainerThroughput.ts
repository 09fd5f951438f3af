// Trainer throughput: optimizer rows/s of the tfjs-wasm worker standalone (batch 64 is the
// baseline, measured in the same run), then inside a short closed-loop run (`runTraining`), with
// the share of wall time the trainer waited for data and the producers waited for the trainer.
//
//   node dist/bench/trainerThroughput.js [--seconds 60] [--steps 60]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTION_COUNT, FEATURE_COUNT, encodeState, initialState, legalMask } from '../domains/countdown/actions.js';
import { generateCountdownProblems } from '../domains/countdown/generator.js';
import { generateInitialCountdownModel } from '../models/countdown/initWeights.js';
import { readPolicyValueWeights } from '../models/onnxGraph.js';
import { packageRoot } from '../models/paths.js';
import { packBatch } from '../operators/rl/packBatch.js';
import type { StateExample } from '../operators/rl/trainingExamples.js';
import { parseRunConfig } from '../streams/cli/runConfig.js';
import { runTraining } from '../streams/trainer/runWithTraining.js';
import { TfjsTrainer } from '../streams/trainer/tfjsTrainer.js';
import { parseTrainConfig } from '../streams/trainer/trainConfig.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const seconds = Number(arg('seconds', '60'));
const steps = Number(arg('steps', '60'));
const command = `node dist/bench/trainerThroughput.js ${process.argv.slice(2).join(' ')}`.trim();

const examples: StateExample[] = generateCountdownProblems({ count: 512, seed: 5, numbers: 4 }).map((p, k) => {
  const s = initialState(p);
  const features = new Float32Array(FEATURE_COUNT);
  const mask = new Float32Array(ACTION_COUNT);
  encodeState(s, features);
  legalMask(s, mask);
  const target = new Float32Array(ACTION_COUNT);
  target[mask.findIndex((m) => m === 1)] = 1;
  return { features, mask, policyTarget: target, valueTarget: k % 2 };
});

const trainer = await TfjsTrainer.start(readPolicyValueWeights(generateInitialCountdownModel()), { learningRate: 1e-3, clipEpsilon: 0.2, valueWeight: 0.5 });
const standalone: { batch: number; rowsPerSec: number; msPerStep: number }[] = [];
for (const batch of [64, 256, 1024]) {
  const packed = packBatch(examples.slice(0, Math.min(batch, examples.length)).concat(batch > examples.length ? examples.slice(0, batch - examples.length) : []), []);
  await trainer.train(packed); // warm-up (wasm kernels, optimizer slots)
  const started = performance.now();
  for (let i = 0; i < steps; i++) await trainer.train(packed);
  const ms = performance.now() - started;
  standalone.push({ batch, rowsPerSec: (batch * steps) / (ms / 1000), msPerStep: ms / steps });
  process.stderr.write(`standalone batch ${batch}: ${(ms / steps).toFixed(1)} ms/step\n`);
}
await trainer.close();
const base = standalone[0]?.rowsPerSec ?? 1;

const out = await mkdtemp(join(tmpdir(), 'astro-tt-'));
const summary = await runTraining(parseRunConfig({ out, seed: 7 }), parseTrainConfig({ minutes: seconds / 60 }));
await rm(out, { recursive: true, force: true });
const t = summary.trainer;
const pipelineRowsPerSec = t.rowsTrained / (summary.wallMs / 1000);
const steppingRowsPerSec = t.rowsTrained / (t.trainMs / 1000);
const std256 = standalone.find((s) => s.batch === 256)?.rowsPerSec ?? 1;

const md = [
  '# Trainer throughput (tfjs wasm worker)',
  '',
  `Command: \`${command}\` (after \`npx tsc -p tsconfig.json\`), ${new Date().toISOString().slice(0, 10)}, 2 shared cores (other jobs were running).`,
  '',
  '| standalone batch | ms/step | rows/s | vs batch 64 |',
  '| --- | --- | --- | --- |',
  ...standalone.map((s) => `| ${s.batch} | ${s.msPerStep.toFixed(1)} | ${s.rowsPerSec.toFixed(0)} | ${(s.rowsPerSec / base).toFixed(2)}× |`),
  '',
  `In the closed loop (\`runTraining\`, ${seconds} s, default search 32/8/16, TrainConfig defaults: batch ${parseTrainConfig({}).batchSize} AlphaZero rows + up to ${parseTrainConfig({}).maxSequencesPerStep} GRPO sequences per step, a step per ${parseTrainConfig({}).newRowsPerStep} new rows):`,
  '',
  `- ${t.steps} steps, ${t.rowsTrained} rows: **${pipelineRowsPerSec.toFixed(0)} rows/s over wall time**, ${steppingRowsPerSec.toFixed(0)} rows/s while stepping (${(steppingRowsPerSec / std256).toFixed(2)}× standalone batch 256 measured just before; both under the same shared-machine load, so the ratio is noisy).`,
  `- trainer waiting for data: **${((t.waitingForDataMs / summary.wallMs) * 100).toFixed(1)}%** of wall time; stepping ${((t.trainMs / summary.wallMs) * 100).toFixed(1)}%; exporting ${((t.exportMs / summary.wallMs) * 100).toFixed(1)}%.`,
  `- producers (search + rollout) waiting for the trainer at the staleness bound: **${((summary.producersWaitingMs / summary.wallMs) * 100).toFixed(1)}%** of wall time (summed over both producers).`,
  `- ${summary.trees} trees, ${summary.rolloutGroups} rollout groups (${summary.counters['trainer.groups_equal_rewards_skipped'] ?? 0} with equal rewards, skipped), ${t.published.length} versions.`,
  '',
].join('\n');
const dir = join(packageRoot(), 'bench', 'results');
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'trainerThroughput.md'), md);
process.stdout.write(`${md}\n`);

import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluatePolicyFile } from '../../../streams/cli/commands/eval.js';
import { parseRunConfig } from '../../../streams/cli/runConfig.js';
import { formatTrainingSummary, runTraining } from '../../../streams/trainer/runWithTraining.js';
import { parseTrainConfig } from '../../../streams/trainer/trainConfig.js';

// The CI form of the acceptance run: 700 optimizer steps of the closed loop (search + verify +
// linearize + sinks + rollouts + trainer, hot-swapping versions; ~70 s alone, up to 2.5 min on a
// loaded machine: the budget is work, not wall time, because the trainer only steps as new data
// arrives) must raise the greedy solve rate on held-out problems by at least 5 points. The initial network solves ~0.5%; at 300 problems a 5-point gain
// is > 4 standard errors. (The 10-minute, 500-problem, +15-point run is bench/learningCurve.ts.)
describe('runTraining: the policy improves while the pipeline runs', () => {
  let out: string;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('publishes content-addressed versions that solve more held-out problems than the initial network', async () => {
    out = await mkdtemp(join(tmpdir(), 'astro-train-'));
    const config = parseRunConfig({ out, seed: 7, search: { iterations: 16, rollouts: 4 } });
    const summary = await runTraining(config, parseTrainConfig({ minutes: 2.5, untilSteps: 700, rlBatchGroups: 64 }));

    expect(summary.trainer.published.length).toBeGreaterThanOrEqual(3);
    expect(summary.trees).toBeGreaterThan(50);
    expect(summary.traces).toBeGreaterThan(0);
    expect(summary.rolloutGroups).toBeGreaterThan(50);
    expect(summary.counters['policy_watcher.swaps']).toBeGreaterThanOrEqual(1);
    // Versions are consecutive and each file is named by the sha256 of its bytes.
    expect(summary.trainer.published.map((v) => v.version)).toEqual(summary.trainer.published.map((_, i) => i + 1));
    const files = await readdir(join(out, 'policies'));
    for (const v of summary.trainer.published.slice(-3)) {
      const sha = createHash('sha256').update(await readFile(v.path)).digest('hex');
      expect(sha).toBe(v.sha256);
      expect(basename(v.path)).toBe(`${sha}.onnx`);
      expect(files).toContain(`${sha}.onnx`);
    }
    expect(summary.newestPolicy).toBe(summary.trainer.published.at(-1)?.path);
    expect(formatTrainingSummary(summary)).toContain(`newest policy: ${summary.newestPolicy}`);
    // The external-trainer bridge ran alongside: every rollout group landed in some verl step.
    const rl = JSON.parse(await readFile(join(out, 'rl', 'manifest.json'), 'utf8')) as { steps: { groups: number; files: { layout: string }[] }[] };
    expect(rl.steps.reduce((n, s) => n + s.groups, 0)).toBe(summary.rolloutGroups);
    expect(rl.steps[0]?.files.map((f) => f.layout)).toEqual(['verl', 'trl']);

    const options = { problems: 300, seed: 1, numbers: 4, search: { kind: 'greedy' } as const };
    const before = await evaluatePolicyFile('builtin', options);
    const after = await evaluatePolicyFile(summary.newestPolicy ?? 'builtin', options);
    process.stderr.write(`runTraining: ${summary.trainer.steps} steps in ${(summary.wallMs / 1000).toFixed(0)} s, greedy ${before.solve_rate} -> ${after.solve_rate}\n`);
    // 5 points of 300 = 15 more problems solved, compared in whole problems: as rates, 0.06 - 0.01
    // is 0.049999… and a run that gained exactly 5 points failed. Over 24 runs on 2026-12-03 the newest
    // version solved 6.0–23.0% (initial network 0.3–1.0%); the two lowest were that 6.0%.
    expect(after.solved - before.solved).toBeGreaterThanOrEqual(15);
  }, 220_000);
});

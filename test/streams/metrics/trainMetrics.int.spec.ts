import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from '../../../streams/metrics/parseExposition.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { startCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/waitFor.js';

describe('astro-stream run --train --metrics-port', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-train-metrics-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exports the trainer\'s loss, policy version and steps, and the rollout rewards, matching the summary', async () => {
    const run = startCli(['run', '--train', '--minutes', '0.15', '--iterations', '8', '--out', out, '--json', '--metrics-port', '0', '--metrics-linger', '300']);
    try {
      const url = await waitFor(() => /metrics: (http:\/\/\S+\/metrics)/.exec(run.output())?.[1], { timeoutMs: 60_000, message: 'metrics URL' });
      const line = await waitFor(() => (existsSync(join(out, 'manifest.json')) ? /^\{"startedAt".*$/m.exec(run.output())?.[0] : undefined), { timeoutMs: 150_000, intervalMs: 200, message: 'the training summary' });
      const summary = JSON.parse(line) as { trees: number; rolloutGroups: number; trainer: { steps: number; version: number; published: unknown[] }; counters: Record<string, number> };
      const samples = parseExposition(await (await fetch(url)).text());
      expect(summary.trainer.steps).toBeGreaterThan(0);
      expect(sumOf(samples, 'astro_trainer_steps_total')).toBe(summary.trainer.steps);
      expect(sumOf(samples, 'astro_trainer_policy_version')).toBe(summary.trainer.version);
      expect(summary.trainer.published.length).toBeGreaterThan(0);
      for (const component of ['loss', 'az', 'value', 'pg']) expect(samples.some((s) => s.name === 'astro_trainer_loss' && s.labels['component'] === component && Number.isFinite(s.value))).toBe(true);
      expect(sumOf(samples, 'astro_rollout_samples_total')).toBe(summary.counters['rollout.samples']);
      expect(sumOf(samples, 'astro_rollout_correct_total')).toBe(summary.counters['rollout.correct'] ?? 0);
      expect(sumOf(samples, 'astro_search_trees_total')).toBe(summary.trees);
      // The rollout and trainer stages are watched too: their groups' lag is reported.
      expect(samples.some((s) => s.name === 'astro_consumer_lag' && s.labels['topic'] === 'astro.rollouts.v1')).toBe(true);
      const manifest = await readManifest(out);
      expect(manifest.counts['trainer.steps']).toBe(summary.trainer.steps);
    } finally {
      expect((await run.stop('SIGTERM')).code, run.output()).toBe(0);
    }
  }, 240_000);
});

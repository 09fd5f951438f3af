import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { runCli } from '../../helpers/cli.js';

describe('astro-stream run --train (CLI wiring of the closed loop)', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-train-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('trains for --minutes, publishes content-addressed versions under OUT/policies and prints the summary', async () => {
    const result = await runCli(['run', '--train', '--minutes', '0.15', '--iterations', '8', '--out', out, '--json'], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { trees: number; traces: number; trainer: { steps: number; published: unknown[] }; newestPolicy: string | null };
    expect(summary.trees).toBeGreaterThan(0);
    expect(summary.trainer.steps).toBeGreaterThan(0);
    const files = readdirSync(join(out, 'policies')).filter((f) => f.endsWith('.onnx'));
    expect(files.length).toBe(summary.trainer.published.length);
    for (const f of files) expect(f).toMatch(/^[0-9a-f]{64}\.onnx$/);
    expect(summary.newestPolicy).toMatch(/policies\/[0-9a-f]{64}\.onnx$/);

    // A dataset like any other: a manifest whose files and checksums match what is on disk.
    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.command).toContain('run --train');
    expect(manifest.versions.policy.split(',')).toHaveLength(1 + summary.trainer.published.length);
    expect(manifest.versions.policy).toMatch(/^countdown-mlp@/);
    const traceRows = manifest.files.filter((f) => f.kind === 'traces').reduce((n, f) => n + f.rows, 0);
    expect(traceRows).toBe(summary.traces);
    expect(manifest.files.filter((f) => f.kind === 'trees').reduce((n, f) => n + f.rows, 0)).toBe(summary.trees);
    // The training linger (10 s) batches a partition's rows into one shard for this short run
    // (4 partitions), where the 250 ms of a finite run wrote dozens of small files.
    expect(manifest.files.filter((f) => f.kind === 'traces').length).toBeLessThanOrEqual(8);
  }, 150_000);

  it('rejects a bad --minutes with a config error', async () => {
    const result = await runCli(['run', '--train', '--minutes', 'soon', '--out', out]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--minutes must be a number/);
  });
});

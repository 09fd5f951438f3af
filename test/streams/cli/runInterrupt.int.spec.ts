import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../streams/cli/summary.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { runCli, startCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { waitFor } from '../../helpers/waitFor.js';

const root = mkdtempSync(join(tmpdir(), 'astro-run-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Enough problems that the run is still searching when the signal comes, however loaded the machine.
const settings = ['--numbers', '3', '--iterations', '16', '--seed', '11'];
const PROBLEMS = '300';

const shards = (dir: string, sub: string): string[] => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).filter((n) => !n.startsWith('.')) : []);
const traceIds = async (dir: string): Promise<unknown[]> => (await duckdbRows(`SELECT trace_id, completion FROM read_parquet('${dir}/traces/*.parquet') ORDER BY trace_id`)).map((r) => [r.trace_id, r.completion]);

async function expectConsistent(dir: string): Promise<void> {
  const manifest = await readManifest(dir);
  expect(await verifyManifestFiles(dir, manifest)).toEqual([]);
  const onDisk = ['traces', 'trees'].flatMap((sub) => shards(dir, sub).map((n) => `${sub}/${n}`)).sort();
  expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk);
}

describe('Ctrl-C during run', () => {
  it('stops like a stage: finishes in-flight work, writes a manifest marked interrupted, prints the summary, exits 130; --resume then completes it', async () => {
    const out = join(root, 'interrupted');
    const cli = startCli(['run', ...settings, '--problems', PROBLEMS, '--out', out, '--json']);
    await waitFor(() => shards(out, 'traces').length > 0, { timeoutMs: 120_000, intervalMs: 50, message: `first trace shard\n${cli.output()}` });
    cli.signal('SIGINT');
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(130);
    expect(cli.stderr()).toMatch(/SIGINT: stopping/);
    const summary = JSON.parse(cli.stdout()) as RunSummary;
    expect(summary.interrupted).toBe('SIGINT');
    expect(summary.trees).toBeGreaterThan(0);
    expect(summary.trees).toBeLessThan(Number(PROBLEMS));
    const manifest = await readManifest(out);
    expect(manifest.interrupted?.reason).toBe('SIGINT');
    await expectConsistent(out);
    // What the summary counted is what is on disk: every searched tree and every trace.
    expect(manifest.files.filter((f) => f.kind === 'trees').reduce((n, f) => n + f.rows, 0)).toBe(summary.trees);
    expect(manifest.files.filter((f) => f.kind === 'traces').reduce((n, f) => n + f.rows, 0)).toBe(summary.traces);

    const resumed = await runCli(['run', ...settings, '--problems', PROBLEMS, '--out', out, '--resume', '--json'], { timeoutMs: 300_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((JSON.parse(resumed.stdout) as RunSummary).resumed?.problems_done).toBe(summary.trees);
    const manifestAfter = await readManifest(out);
    expect(manifestAfter.interrupted).toBeUndefined();
    await expectConsistent(out);

    const whole = join(root, 'whole');
    expect((await runCli(['run', ...settings, '--problems', PROBLEMS, '--out', whole], { timeoutMs: 300_000 })).code).toBe(0);
    expect(await traceIds(out)).toEqual(await traceIds(whole));
  }, 600_000);

  it('exits at once on a second signal', async () => {
    const out = join(root, 'twice');
    const cli = startCli(['run', ...settings, '--problems', PROBLEMS, '--out', out]);
    await waitFor(() => shards(out, 'trees').length > 0, { timeoutMs: 120_000, intervalMs: 50, message: `first tree shard\n${cli.output()}` });
    cli.signal('SIGINT');
    await waitFor(() => cli.stderr().includes('SIGINT: stopping'), { timeoutMs: 30_000, message: 'the first signal noticed' });
    cli.signal('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(130);
    expect(cli.stderr()).toMatch(/second SIGTERM: exiting now/);
  }, 180_000);
});

describe('SIGTERM during run --train', () => {
  it('stops the loop, writes the manifest marked interrupted, prints the summary and exits 130', async () => {
    const out = join(root, 'train');
    const cli = startCli(['run', '--train', '--minutes', '10', '--iterations', '8', '--out', out, '--json']);
    // The loop is running once it reports progress (every 5 s).
    await waitFor(() => /\[train\] [\d.]+ min: \d+ problems/.test(cli.stderr()), { timeoutMs: 150_000, intervalMs: 100, message: `training progress\n${cli.output()}` });
    cli.signal('SIGTERM');
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(130);
    const summary = JSON.parse(cli.stdout()) as { interrupted: string | null; trees: number; traces: number };
    expect(summary.interrupted).toBe('SIGTERM');
    const manifest = await readManifest(out);
    expect(manifest.interrupted?.reason).toBe('SIGTERM');
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.files.filter((f) => f.kind === 'traces').reduce((n, f) => n + f.rows, 0)).toBe(summary.traces);
  }, 240_000);
});

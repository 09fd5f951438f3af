import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI } from '../../helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompactReport } from '../../../streams/replay/compactDataset.js';
import type { DatasetInspection } from '../../../streams/replay/inspectDataset.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { runCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';

describe('astro-stream dataset inspect / compact (end to end)', () => {
  const root = mkdtempSync(join(tmpdir(), 'astro-dataset-cli-'));
  const src = join(root, 'run');

  beforeAll(async () => {
    const run = await runCli(['run', '--problems', '6', '--numbers', '3', '--iterations', '8', '--seed', '5', '--out', src]);
    expect(run.code).toBe(0);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('inspect agrees with DuckDB on rows, variants, backtracks and policy versions', async () => {
    const result = await runCli(['dataset', 'inspect', src, '--json']);
    expect(result.code).toBe(0);
    const i = JSON.parse(result.stdout) as DatasetInspection;
    const q = async (sql: string): Promise<Record<string, number>> =>
      Object.fromEntries((await duckdbRows(sql)).map((r) => [String(r['key']), Number(r['n'])]));
    const from = `read_parquet('${src}/traces/*.parquet')`;
    expect(i.by_variant).toEqual(await q(`SELECT variant AS key, count(*)::INTEGER AS n FROM ${from} GROUP BY 1`));
    expect(i.backtrack_histogram).toEqual(await q(`SELECT num_backtracks AS key, count(*)::INTEGER AS n FROM ${from} GROUP BY 1`));
    expect(i.by_policy_version).toEqual(await q(`SELECT policy_version AS key, count(*)::INTEGER AS n FROM ${from} GROUP BY 1`));
    expect(i.rows).toBeGreaterThan(0);
    expect(i.manifest_mismatches).toEqual([]);
    expect(i.trace_disagreements).toBe(0);

    const text = await runCli(['dataset', 'inspect', src]);
    expect(text.stdout).toMatch(/manifest ok/);
    expect(text.stdout).toMatch(/disagreements\s+0 trace rows/);
  });

  it('compact merges the shards into one file per --rows-per-file with a manifest that checks out', async () => {
    const out = join(root, 'compact');
    const result = await runCli(['dataset', 'compact', src, '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as CompactReport;
    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.files.filter((f) => f.kind === 'traces')).toHaveLength(1);
    expect(report.rows_out).toBe(report.rows_in);
    const [a] = await duckdbRows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/traces/*.parquet')`);
    expect(Number(a?.n)).toBe(report.rows_out);

    const again = await runCli(['dataset', 'compact', src, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not empty/);
  });

  it('inspect --repair rebuilds a manifest that lists less (or more) than is on disk', async () => {
    const copy = join(root, 'damaged');
    cpSync(src, copy, { recursive: true });
    // A manifest from before the last files landed: one file it lists is gone, one on disk it does not list.
    const manifest = await readManifest(copy);
    const [kept, dropped] = manifest.files.filter((f) => f.kind === 'traces');
    expect(kept).toBeDefined();
    expect(dropped).toBeDefined();
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify({ ...manifest, files: manifest.files.filter((f) => f.path !== kept?.path) }));
    unlinkSync(join(copy, dropped?.path ?? ''));
    const before = await runCli(['dataset', 'inspect', copy]);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/manifest MISMATCH: .*missing.*unlisted \(dataset inspect --repair rebuilds the manifest from the files\)/);

    const repaired = await runCli(['dataset', 'inspect', copy, '--repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const report = JSON.parse(repaired.stdout) as DatasetInspection & { repair: { added: string[]; dropped: string[]; written: boolean } };
    expect(report.repair).toMatchObject({ added: [kept?.path], dropped: [dropped?.path], written: true });
    expect(report.manifest_mismatches).toEqual([]);
    expect(report.unlisted_files).toEqual([]);
    const after = await readManifest(copy);
    expect(await verifyManifestFiles(copy, after)).toEqual([]);
    // The rest of the manifest (configs, counts) is kept.
    expect(after.configs).toEqual(manifest.configs);
    expect((await runCli(['dataset', 'inspect', copy])).stdout).toMatch(/manifest ok/);
  }, 300_000);

  it('refuses a directory that is missing or not a dataset, with exit 2 and one line', async () => {
    const missing = await runCli(['dataset', 'inspect', join(root, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^astro-stream: config error: no dataset directory .*nowhere: it does not exist$/);
    expect(missing.stdout).toBe('');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const notDataset = await runCli(['dataset', 'inspect', empty]);
    expect(notDataset.code).toBe(2);
    expect(notDataset.stderr).toMatch(/is not a dataset directory \(no manifest.json, traces\/ or trees\/\)/);
    const compactMissing = await runCli(['dataset', 'compact', join(root, 'nowhere'), '--out', join(root, 'never')]);
    expect(compactMissing.code).toBe(2);
    expect(readdirSync(root)).not.toContain('never');
  }, 300_000);

  it('a missing argument is bad input (exit 2), and a reader that stops reading is not a failure', async () => {
    const noDir = await runCli(['dataset', 'inspect']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr.trim()).toBe("error: missing required argument 'dir'");
    // The reader closes the pipe before anything is written: the write fails with EPIPE.
    const piped = spawnSync('bash', ['-c', '"$0" "$1" dataset inspect "$2" --json | (exec 0<&-; sleep 3); echo "rc=${PIPESTATUS[0]}"', process.execPath, CLI, src], { encoding: 'utf8', timeout: 120_000 });
    expect(piped.stdout.trim()).toBe('rc=0');
    expect(piped.stderr).not.toMatch(/EPIPE|Unhandled/);
  }, 300_000);
});

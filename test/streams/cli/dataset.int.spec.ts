import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});

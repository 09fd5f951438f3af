import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../../schemas/problem.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { runCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';

const BOXED = /\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}/g;

/** Rows of a dataset that repeat an earlier row's completion for the same problem. */
async function repeats(dir: string): Promise<number> {
  const [row] = await duckdbRows(
    `SELECT (count(*) - count(DISTINCT (problem_id, completion)))::INTEGER AS n FROM read_parquet('${dir}/traces/*.parquet')`,
  );
  return Number(row?.n);
}

/** Boxed answers in completions that are a bare number other than the problem's target (a give-up). */
async function bareBoxes(dir: string): Promise<string[]> {
  const rows = await duckdbRows(`SELECT problem_json, completion FROM read_parquet('${dir}/traces/*.parquet')`);
  const bad: string[] = [];
  for (const row of rows) {
    const problem = Problem.parse(JSON.parse(String(row.problem_json)));
    for (const [, boxed] of String(row.completion).matchAll(BOXED)) {
      if (/^\s*\d+\s*$/.test(boxed ?? '') && Number(boxed) !== problem.target) bad.push(`${problem.id}: ${boxed}`);
    }
  }
  return bad;
}

// Spawns the compiled CLI (bin/astro-stream.js → dist/): build with `npx tsc -p tsconfig.json` first.
describe('datasets written by run and replay (issue 13: believable wrong attempts, no repeats)', () => {
  const root = mkdtempSync(join(tmpdir(), 'astro-faithful-'));
  const run = join(root, 'run');
  beforeAll(async () => {
    // The ablation arm and several search traces per tree: where repeats used to come from.
    const result = await runCli(['run', '--problems', '16', '--seed', '5', '--ablation', '--out', run, '--json']);
    expect(result.code, result.stderr).toBe(0);
  }, 240_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('run: no completion repeats for a problem, no bare leftover number is boxed, drops are counted in the manifest', async () => {
    const [rows] = await duckdbRows(`SELECT count(*)::INTEGER AS n, count(DISTINCT variant)::INTEGER AS variants FROM read_parquet('${run}/traces/*.parquet')`);
    expect(Number(rows?.n)).toBeGreaterThan(20);
    expect(Number(rows?.variants)).toBe(3);
    expect(await repeats(run)).toBe(0);
    expect(await bareBoxes(run)).toEqual([]);
    const manifest = await readManifest(run);
    // Wrong terminals are complete attempts: search traces backtrack from boxed expressions.
    const [search] = await duckdbRows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${run}/traces/*.parquet') WHERE variant = 'search' AND num_backtracks > 0`);
    expect(Number(search?.n)).toBeGreaterThan(0);
    expect(manifest.counts['linearize.traces']).toBe(Number(rows?.n));
    expect(manifest.configs['tokenizer']).toEqual({ name: 'countdown-pretokens@1', exact: true });
    expect(manifest.configs['search']).toMatchObject({ backup: 'paper', exhausted: 'skip' });
  });

  it('replay with more traces per tree: still no repeats, fewer traces where a tree has fewer paths, counted', async () => {
    const out = join(root, 'replay');
    const result = await runCli(['replay', '--from-dir', run, '--out', out, '--k-mix', '0,0,1,1,1,2,2,2', '--ablation', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(await repeats(out)).toBe(0);
    expect(await bareBoxes(out)).toEqual([]);
    const manifest = await readManifest(out);
    // Eight entries per tree cannot all find a new path in these small trees: the shortfall is counted.
    expect((manifest.counts['linearize.repeat_skipped'] ?? 0) + (manifest.counts['linearize.ablation_unmatched'] ?? 0)).toBeGreaterThan(0);
  });

  it('dataset compact --dedupe text drops repeats across runs; --dedupe id keeps them', async () => {
    // A second run of the same problems with another linearizer seed: new trace ids, many equal completions.
    const second = join(root, 'run2');
    const again = await runCli(['replay', '--from-dir', run, '--out', second, '--linearize-seed', '99', '--ablation', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const byId = join(root, 'compact-id');
    const ids = await runCli(['dataset', 'compact', run, second, '--out', byId, '--json']);
    expect(ids.code, ids.stderr).toBe(0);
    expect(await repeats(byId)).toBeGreaterThan(0);
    const byText = join(root, 'compact-text');
    const texts = await runCli(['dataset', 'compact', run, second, '--out', byText, '--dedupe', 'text', '--json']);
    expect(texts.code, texts.stderr).toBe(0);
    const report = JSON.parse(texts.stdout) as { rows_in: number; rows_out: number; repeated_completions_dropped: number };
    expect(report.repeated_completions_dropped).toBeGreaterThan(0);
    expect(report.rows_out).toBe(report.rows_in - report.repeated_completions_dropped);
    expect(await repeats(byText)).toBe(0);
    const manifest = await readManifest(byText);
    expect(manifest.counts['duplicate_completions_dropped']).toBe(report.repeated_completions_dropped);
    expect(manifest.counts['traces']).toBe(report.rows_out);
    const bad = await runCli(['dataset', 'compact', run, '--out', join(root, 'compact-bad'), '--dedupe', 'words']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--dedupe must be id or text');
  });

  it('dataset inspect reports backtracks against correctness', async () => {
    const result = await runCli(['dataset', 'inspect', run, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const inspection = JSON.parse(result.stdout) as { rows: number; backtrack_histogram: Record<string, number>; backtracks_by_correctness: Record<string, { correct: number; incorrect: number }> };
    const cells = Object.entries(inspection.backtracks_by_correctness);
    expect(cells.length).toBeGreaterThan(1);
    for (const [k, v] of cells) expect(v.correct + v.incorrect).toBe(inspection.backtrack_histogram[k]);
    // A run writes only traces that re-verify.
    expect(cells.every(([, v]) => v.incorrect === 0)).toBe(true);
    const text = await runCli(['dataset', 'inspect', run]);
    expect(text.stdout).toMatch(/vs correct\s+0:\d+\/\d+/);
  });
});

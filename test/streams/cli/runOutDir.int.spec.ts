import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../operators/common/hash.js';
import type { RunSummary } from '../../../streams/cli/summary.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { runCli } from '../../helpers/cli.js';
import { expectConsistent } from '../../helpers/manifest.js';
import { duckdbRows } from '../../helpers/duckdb.js';

const root = mkdtempSync(join(tmpdir(), 'astro-run-out-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Small and quick: 3-number Countdown, 8 MCTS iterations; the seed fixes every problem and trace.
const settings = ['--numbers', '3', '--iterations', '8', '--seed', '3'];
const run = (out: string, problems: number, ...extra: string[]) => runCli(['run', ...settings, '--problems', String(problems), '--out', out, '--json', ...extra], { timeoutMs: 170_000 });

/** What a dataset holds, independent of how its files were cut: sorted trace ids with their text, and tree ids. */
async function contents(dir: string): Promise<{ traces: Record<string, unknown>[]; trees: string[] }> {
  const traces = await duckdbRows(`SELECT trace_id, completion FROM read_parquet('${dir}/traces/*.parquet') ORDER BY trace_id`);
  const trees: string[] = [];
  for await (const t of readTreeArchive(dir)) trees.push(t.tree_id);
  return { traces, trees: trees.sort() };
}

describe('run into an --out that already holds a dataset', () => {
  const fresh = join(root, 'fresh-10');
  let expected: Awaited<ReturnType<typeof contents>>;

  beforeAll(async () => {
    const result = await run(fresh, 10);
    expect(result.code, result.stderr).toBe(0);
    expected = await contents(fresh);
    expect(expected.traces.length).toBeGreaterThan(0);
  }, 180_000);

  it('refuses it without --resume or --overwrite, leaving it untouched (exit 2)', async () => {
    const before = sha256Hex(readFileSync(join(fresh, 'manifest.json')));
    const again = await run(fresh, 10);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--out .*fresh-10 is not empty \(.*\): pass --resume to continue that run .* or --overwrite to start clean/);
    expect(again.stdout).toBe('');
    expect(sha256Hex(readFileSync(join(fresh, 'manifest.json')))).toBe(before);
    const both = await run(fresh, 10, '--resume', '--overwrite');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--resume and --overwrite exclude each other/);
  }, 120_000);

  it('--resume continues a run: the problems already done are skipped, and the result equals one uninterrupted run', async () => {
    const out = join(root, 'resumed');
    expect((await run(out, 6)).code).toBe(0);
    const resumed = await run(out, 10, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as RunSummary;
    expect(summary.resumed).toEqual({ problems_done: 6, trees_relinearized: 0 });
    expect(summary.problems).toBe(4);
    expect(await contents(out)).toEqual(expected);
    await expectConsistent(out);
    const manifest = await readManifest(out);
    expect(manifest.counts['problems']).toBe(10);
  }, 180_000);

  it('--resume repairs what a killed run left: a missing manifest, temp files, traces of archived trees', async () => {
    const out = join(root, 'damaged');
    expect((await run(out, 10)).code).toBe(0);
    // A run killed before its manifest, with a writer's temp file left behind (its pid is gone),
    // and a trace file that never made it (the sink of traces was behind the sink of trees).
    unlinkSync(join(out, 'manifest.json'));
    const temp = join(out, 'traces', `.x.parquet.${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-999999999.0000.tmp`);
    writeFileSync(temp, 'partial');
    const traceFiles = readdirSync(join(out, 'traces')).filter((n) => n.endsWith('.parquet'));
    const lost = traceFiles[0] as string;
    const lostRows = await duckdbRows(`SELECT count(DISTINCT tree_id)::INTEGER AS n FROM read_parquet('${join(out, 'traces', lost)}')`);
    unlinkSync(join(out, 'traces', lost));

    const resumed = await run(out, 10, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as RunSummary;
    // Every problem has its tree: nothing is searched again; the trees whose traces were lost are linearized again.
    expect(summary.problems).toBe(0);
    expect(summary.resumed).toEqual({ problems_done: 10, trees_relinearized: Number(lostRows[0]?.n) });
    expect(existsSync(temp)).toBe(false);
    expect(await contents(out)).toEqual(expected);
    await expectConsistent(out);
  }, 180_000);

  it('--resume refuses to mix in other search settings', async () => {
    const result = await runCli(['run', '--numbers', '3', '--iterations', '9', '--seed', '3', '--problems', '10', '--out', fresh, '--resume']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--resume: .* was made with other search settings/);
  }, 120_000);

  it('--overwrite starts clean, and removes only what a dataset holds', async () => {
    const out = join(root, 'overwritten');
    expect((await runCli(['run', '--numbers', '3', '--iterations', '8', '--seed', '99', '--problems', '4', '--out', out])).code).toBe(0);
    const result = await run(out, 10, '--overwrite');
    expect(result.code, result.stderr).toBe(0);
    expect(await contents(out)).toEqual(expected);
    await expectConsistent(out);

    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const refused = await run(foreign, 2, '--overwrite');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds more than a dataset \(notes\.txt\); --overwrite removes only a dataset's own files/);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
  }, 180_000);
});

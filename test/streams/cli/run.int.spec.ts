import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { countBacktracks } from '../../../operators/linearize/phrases.js';
import { Problem } from '../../../schemas/problem.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import { REPO_ROOT, runCli, type CliResult } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';

const BOXED = /\\boxed\{([^{}]*)\}/g;

describe('astro-stream run (end to end, the README main command)', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-run-'));
  let result: CliResult;

  beforeAll(async () => {
    result = await runCli(['run', '--problems', '12', '--seed', '7', '--out', out, '--json']);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 and prints a summary', () => {
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { problems: number; trees: number; traces: number };
    expect(summary.problems).toBe(12);
    expect(summary.trees).toBe(12);
    expect(summary.traces).toBeGreaterThan(0);
  });

  it('writes traces that DuckDB reads, with the output contract columns', async () => {
    const columns = await duckdbRows(`DESCRIBE SELECT * FROM read_parquet('${out}/traces/*.parquet')`);
    const types = Object.fromEntries(columns.map((c) => [c.column_name, c.column_type]));
    expect(types).toMatchObject({
      trace_id: 'VARCHAR',
      tree_id: 'VARCHAR',
      problem_id: 'VARCHAR',
      domain: 'VARCHAR',
      source: 'VARCHAR',
      problem_json: 'VARCHAR',
      prompt: 'VARCHAR',
      completion: 'VARCHAR',
      messages: 'STRUCT("role" VARCHAR, "content" VARCHAR)[]',
      answer: 'VARCHAR',
      correct: 'BOOLEAN',
      variant: 'VARCHAR',
      k: 'INTEGER',
      num_backtracks: 'INTEGER',
      num_reflections: 'INTEGER',
      policy_version: 'VARCHAR',
      linearizer: 'VARCHAR',
      verifier: 'VARCHAR',
    });
    expect(String(types.created_at)).toMatch(/^TIMESTAMP/);
  });

  it('every row ends in a correct Countdown expression; search rows backtrack; wrong answers never repeat', async () => {
    const rows = await duckdbRows(`SELECT * FROM read_parquet('${out}/traces/*.parquet')`);
    expect(rows.length).toBeGreaterThan(0);
    const verifier = createCountdownVerifier();
    const ids = new Set<string>();
    for (const row of rows) {
      const problem = Problem.parse(JSON.parse(String(row.problem_json)));
      const completion = String(row.completion);
      const boxed = [...completion.matchAll(BOXED)].map((m) => m[1] as string);
      const last = boxed[boxed.length - 1];
      expect(last).toBeDefined();
      expect(last).toBe(row.answer);
      expect((await verifier.verify(problem, `\\boxed{${last}}`)).correct).toBe(true);
      if (row.variant === 'search') expect(Number(row.num_backtracks)).toBeGreaterThanOrEqual(1);
      expect(Number(row.num_backtracks)).toBe(countBacktracks(completion));
      const wrong: string[] = [];
      for (const answer of new Set(boxed)) {
        if (!(await verifier.verify(problem, `\\boxed{${answer}}`)).correct) wrong.push(answer);
      }
      const wrongOccurrences = boxed.filter((b) => wrong.includes(b));
      expect(new Set(wrongOccurrences).size).toBe(wrongOccurrences.length);
      const messages = row.messages as { role: string; content: string }[];
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(messages[1]?.content).toBe(completion);
      expect(ids.has(String(row.trace_id))).toBe(false);
      ids.add(String(row.trace_id));
    }
  });

  it('pyarrow reads the same rows', () => {
    const script = `import pyarrow.dataset as ds, json, sys\nt = ds.dataset(sys.argv[1], format='parquet').to_table()\nprint(json.dumps({'rows': t.num_rows, 'messages': str(t.schema.field('messages').type)}))`;
    const printed = execFileSync('python3', ['-c', script, join(out, 'traces')]).toString();
    const parsed = JSON.parse(printed) as { rows: number; messages: string };
    expect(parsed.messages).toBe('list<element: struct<role: string, content: string>>');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { kind: string; rows: number }[] };
    expect(parsed.rows).toBe(manifest.files.filter((f) => f.kind === 'traces').reduce((s, f) => s + f.rows, 0));
  });

  it('writes a manifest whose checksums match, and archives every tree', async () => {
    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.versions.policy).toMatch(/^countdown-mlp@/);
    expect(manifest.files.filter((f) => f.kind === 'trees').reduce((s, f) => s + f.rows, 0)).toBe(12);
  });

  it('is deterministic: the same seed gives the same trace ids and text', async () => {
    const again = mkdtempSync(join(tmpdir(), 'astro-run-'));
    try {
      const second = await runCli(['run', '--problems', '12', '--seed', '7', '--out', again, '--concurrency', '4']);
      expect(second.code).toBe(0);
      const q = (dir: string): Promise<Record<string, unknown>[]> => duckdbRows(`SELECT trace_id, completion FROM read_parquet('${dir}/traces/*.parquet') ORDER BY trace_id`);
      expect(await q(again)).toEqual(await q(out));
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('astro-stream CLI front door', () => {
  it('runs the README\'s `npm start` twice in a row: the demo replaces its own output in out/demo', async () => {
    const demo = join(REPO_ROOT, 'out', 'demo');
    const start = (): string => execFileSync('npm', ['start', '--silent'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    start();
    expect(start()).toMatch(/valid trees\s+\d+\/12/);
    const manifest = await readManifest(demo);
    expect(await verifyManifestFiles(demo, manifest)).toEqual([]);
    // Exactly the files on disk: the second run left no shard of the first behind, unlisted.
    const onDisk = ['traces', 'trees'].flatMap((d) => readdirSync(join(demo, d)).map((f) => `${d}/${f}`)).sort();
    expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk);
  }, 600_000);

  it('has --help on run', async () => {
    const help = await runCli(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--k-mix/);
  });

  it('rejects bad flags with a clear error and exit code 2', async () => {
    const bad = await runCli(['run', '--problems', 'many']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--problems must be an integer/);
    const badMix = await runCli(['run', '--k-mix', '0,x', '--out', join(tmpdir(), 'never')]);
    expect(badMix.code).toBe(2);
    expect(badMix.stderr).toMatch(/--k-mix/);
  });
});

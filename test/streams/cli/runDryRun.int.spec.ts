import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBacktracks } from '../../../operators/linearize/phrases.js';
import { createMathVerifier, extractAnswer } from '../../../operators/verify/math/index.js';
import { Problem } from '../../../schemas/problem.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';

describe('astro-stream run --policy dry-run --source jsonl --file math500.jsonl (rehearsal, no model)', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-dryrun-'));
  let result: CliResult;

  beforeAll(async () => {
    // The command, run from the repository root like a user would.
    result = await runCli(['run', '--policy', 'dry-run', '--source', 'jsonl', '--file', '../shared/datasets/math500.jsonl', '--problems', '20', '--out', out, '--json']);
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('searches all 20 MATH-500 problems', () => {
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { problems: number; trees: number; traces: number; dead_lettered: number };
    expect(summary.problems).toBe(20);
    expect(summary.trees).toBe(20);
    expect(summary.dead_lettered).toBe(0);
    expect(summary.traces).toBeGreaterThanOrEqual(20);
  });

  it('writes math traces with backtracks whose final answers verify against the gold answer', async () => {
    const rows = await duckdbRows(`SELECT * FROM read_parquet('${out}/traces/*.parquet')`);
    const verifier = createMathVerifier();
    let withBacktracks = 0;
    for (const row of rows) {
      expect(row.domain).toBe('math');
      expect(row.source).toBe('math500');
      const problem = Problem.parse(JSON.parse(String(row.problem_json)));
      const completion = String(row.completion);
      expect(extractAnswer(completion)?.answer).toBe(row.answer);
      expect((await verifier.verify(problem, completion)).correct).toBe(true);
      expect(Number(row.num_backtracks)).toBe(countBacktracks(completion));
      if (row.variant === 'search') {
        expect(Number(row.num_backtracks)).toBeGreaterThanOrEqual(1);
        // The wrong branches before the backtrack end in wrong boxed answers.
        const boxes = [...completion.matchAll(/The final answer is \\boxed\{/g)].length;
        expect(boxes).toBeGreaterThanOrEqual(2);
      }
      if (Number(row.num_backtracks) > 0) withBacktracks += 1;
      expect(String(row.completion)).toMatch(/^## Step 1: /);
    }
    expect(withBacktracks).toBeGreaterThanOrEqual(20);
  });

  it('marks every record synthetic: the policy version on every trace, and the manifest', async () => {
    const versions = await duckdbRows(`SELECT DISTINCT policy_version FROM read_parquet('${out}/traces/*.parquet')`);
    expect(versions).toEqual([{ policy_version: 'dry-run@1.0.0+synthetic' }]);
    const manifest = await readManifest(out);
    expect(manifest.versions.policy).toMatch(/^dry-run@.*synthetic/);
    expect(manifest.counts.synthetic).toBe(1);
    expect(manifest.configs.synthetic).toBeDefined();
    expect(manifest.versions.verifier).toBe('math@2.0.0');
  });

  it('rejects a file source without --file, and a file it cannot map, as config errors', async () => {
    const noFile = await runCli(['run', '--policy', 'dry-run', '--source', 'jsonl', '--out', join(tmpdir(), 'never-written')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/needs --file/);
    const unknown = await runCli(['run', '--policy', 'dry-run', '--file', 'package.json', '--out', join(tmpdir(), 'never-written')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--preset/);
  });
});

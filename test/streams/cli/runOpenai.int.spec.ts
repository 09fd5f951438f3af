import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { Problem } from '../../../schemas/problem.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { DeadLetter } from '../../../schemas/deadLetter.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { runCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { startServePolicy, type ServePolicyProcess } from '../server/servePolicyProcess.js';

interface Summary {
  readonly problems: number;
  readonly trees: number;
  readonly traces: number;
  readonly dead_lettered: number;
}

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'astro-openai-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('astro-stream run --policy openai against astro-stream serve-policy', () => {
  let server: ServePolicyProcess;
  const out = tempDir();
  let summary: Summary;
  let code: number | null;

  beforeAll(async () => {
    server = await startServePolicy();
    const result = await runCli(['run', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '5', '--out', out, '--json']);
    code = result.code;
    if (code !== 0) throw new Error(result.stderr);
    summary = JSON.parse(result.stdout) as Summary;
  }, 180_000);
  afterAll(async () => {
    await server.stop();
  });

  it('searches every problem over HTTP and writes traces whose final answers verify', async () => {
    expect(code).toBe(0);
    expect(summary.trees).toBe(5);
    expect(summary.dead_lettered).toBe(0);
    expect(summary.traces).toBeGreaterThan(0);
    const rows = await duckdbRows(`SELECT problem_json, completion, answer, policy_version, variant, num_backtracks FROM read_parquet('${out}/traces/*.parquet')`);
    expect(rows.length).toBe(summary.traces);
    const verifier = createCountdownVerifier();
    for (const row of rows) {
      expect(row.policy_version).toBe('openai@countdown-mlp');
      const problem = Problem.parse(JSON.parse(String(row.problem_json)));
      expect((await verifier.verify(problem, String(row.completion))).correct).toBe(true);
      if (row.variant === 'search') expect(Number(row.num_backtracks)).toBeGreaterThanOrEqual(1);
    }
    const stats = await server.stats();
    expect(Number(stats.served)).toBeGreaterThan(5);
  });

  it('records each tree\'s own token usage and the policy in the manifest', async () => {
    const trees: SearchTree[] = [];
    for await (const tree of readTreeArchive(out)) trees.push(tree);
    expect(trees).toHaveLength(5);
    for (const tree of trees) {
      expect(tree.stats.prompt_tokens).toBeGreaterThan(0);
      expect(tree.stats.completion_tokens).toBeGreaterThan(0);
    }
    const manifest = await readManifest(out);
    expect(manifest.versions.policy).toBe('openai@countdown-mlp');
    // Traces are capped in the server's own tokens: it offers POST /tokenize.
    expect(manifest.configs['tokenizer']).toEqual({ name: `POST ${server.baseUrl.replace(/\/v1$/, '/tokenize')}`, exact: true });
  });

  it('with --parallel-iterations keeps more requests in flight and still produces verified traces', async () => {
    const dir = tempDir();
    const before = Number((await server.stats()).peak_concurrency);
    const result = await runCli(['run', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '3', '--iterations', '12', '--parallel-iterations', '6', '--concurrency', '3', '--out', dir, '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Summary).trees).toBe(3);
    expect(Number((await server.stats()).peak_concurrency)).toBeGreaterThanOrEqual(Math.max(before, 6));
  }, 120_000);
});

describe('astro-stream run --policy openai against a failing server', () => {
  it('retries 500s, slow answers and truncated bodies, and finishes with verified traces', async () => {
    const server = await startServePolicy(['--error-every', '7', '--truncate-every', '11', '--slow-every', '13', '--slow-ms', '2000']);
    try {
      const out = tempDir();
      const result = await runCli(['run', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '3', '--numbers', '3', '--iterations', '10', '--timeout-ms', '700', '--backoff-ms', '10', '--attempts', '10', '--out', out, '--json']);
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as Summary;
      expect(summary.trees).toBe(3);
      expect(summary.dead_lettered).toBe(0);
      expect(summary.traces).toBeGreaterThan(0);
      const stats = await server.stats();
      expect(stats.injected.errors).toBeGreaterThan(0);
      expect(stats.injected.truncated).toBeGreaterThan(0);
      expect(stats.injected.slow).toBeGreaterThan(0);
      // Every injected failure was retried (and logged with its reason).
      const retries = result.stderr.split('\n').filter((l) => l.includes('policy: retry'));
      expect(retries.length).toBeGreaterThanOrEqual(stats.injected.errors + stats.injected.truncated);
      expect(result.stderr).toMatch(/HTTP 500/);
      expect(result.stderr).toMatch(/truncated|not complete JSON/);
      expect(result.stderr).toMatch(/longer than 700 ms/);
      const manifest = await readManifest(out);
      expect(manifest.counts['policy.retries']).toBe(retries.length);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('sends problems whose requests exhaust their retries to the DLQ with the reason, and still finishes', async () => {
    const server = await startServePolicy(['--error-every', '1']);
    try {
      const out = tempDir();
      const result = await runCli(['run', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '2', '--attempts', '2', '--backoff-ms', '5', '--out', out, '--json']);
      // Problems were dead-lettered: exit 3, not success.
      expect(result.code).toBe(3);
      const summary = JSON.parse(result.stdout) as Summary;
      expect(summary.trees).toBe(0);
      expect(summary.dead_lettered).toBe(2);
      const letters = readFileSync(join(out, 'dead_letters.jsonl'), 'utf8').trim().split('\n').map((l) => DeadLetter.parse(JSON.parse(l)));
      expect(letters).toHaveLength(2);
      for (const letter of letters) {
        expect(letter.stage).toBe('search');
        expect(letter.error_kind).toBe('policy');
        expect(letter.retriable).toBe(false);
        expect(letter.source_topic).toBe('astro.problems.v1');
        expect(letter.reason).toMatch(/HTTP 500 .*injected failure.*gave up after 2 attempts/);
        // The original problem is in the letter, so it can be replayed.
        expect(Problem.parse(JSON.parse(Buffer.from(letter.value_base64, 'base64').toString('utf8'))).domain).toBe('countdown');
      }
      expect((await readManifest(out)).counts.dead_lettered).toBe(2);
      // Exactly attempts × problems requests: the stage did not redo searches the client had already retried.
      expect(Number((await server.stats()).requests)).toBe(4);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('names the missing --base-url as a config error', async () => {
    const result = await runCli(['run', '--policy', 'openai', '--out', join(tmpdir(), 'never-written')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--base-url/);
  });
});

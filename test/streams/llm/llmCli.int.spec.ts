import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { Problem } from '../../../schemas/problem.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { runCli, startCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { LLAMA_BUILD_TIMEOUT_MS, llamaMetric, llamaServerAndTinyModel } from '../../helpers/llamaServer.js';
import { waitFor } from '../../helpers/waitFor.js';

interface Summary {
  readonly problems: number;
  readonly trees: number;
  readonly traces: number;
  readonly dead_lettered: number;
}

const SLOTS = 4;
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'astro-llm-cli-'));
  dirs.push(dir);
  return dir;
};
const serverDir = tempDir();
// Short steps and rollouts: the tiny model writes corpus-like text that rarely stops by itself.
const config = join(serverDir, 'run.json');
writeFileSync(config, JSON.stringify({ policy: { maxStepTokens: 48, maxRolloutTokens: 128 } }));

async function trees(out: string): Promise<SearchTree[]> {
  const all: SearchTree[] = [];
  for await (const tree of readTreeArchive(out)) all.push(tree);
  return all;
}

describe("astro-stream llm up + run --policy openai against llama.cpp's llama-server (tiny model)", () => {
  let baseUrl: string;
  let port: number;

  beforeAll(async () => {
    // Builds/makes only on a machine without the cache (the pretest hook normally did it).
    await llamaServerAndTinyModel();
    const up = await runCli(['llm', 'up', '--tiny', '--slots', String(SLOTS), '--ctx-per-slot', '1024', '--dir', serverDir], { timeoutMs: 300_000 });
    if (up.code !== 0) throw new Error(`llm up failed (${up.code}): ${up.stderr}`);
    baseUrl = up.stdout.trim();
    port = Number(new URL(baseUrl).port);
  }, LLAMA_BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await runCli(['llm', 'down', '--dir', serverDir]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('llm up prints the base URL; status reports the running server; a second up reuses it', async () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const status = await runCli(['llm', 'status', '--dir', serverDir, '--json']);
    expect(status.code).toBe(0);
    const state = JSON.parse(status.stdout) as { metricsUrl: string };
    expect(state).toMatchObject({ running: true, healthy: true, baseUrl, slots: SLOTS, alias: 'astro-tiny-llama3' });
    // The engine's Prometheus endpoint that status points at answers with llama.cpp's families.
    expect(state.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
    const scraped = await (await fetch(state.metricsUrl)).text();
    expect(scraped).toMatch(/^llamacpp:tokens_predicted_total \d/m);
    const again = await runCli(['llm', 'up', '--tiny', '--slots', String(SLOTS), '--ctx-per-slot', '1024', '--dir', serverDir]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(baseUrl);
    expect(again.stderr).toMatch(/already running/);
  });

  it('searches Countdown problems: priors from the engine, token counts equal to its own, every trace verifies', async () => {
    const out = tempDir();
    const before = await llamaMetric(port, 'tokens_predicted_total');
    const result = await runCli(['run', '--policy', 'openai', '--base-url', baseUrl, '--config', config, '--problems', '3', '--numbers', '3', '--iterations', '8', '--k', '4', '--rollouts', '4', '--out', out, '--json'], { timeoutMs: 600_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Summary;
    expect(summary.trees).toBe(3);
    expect(summary.dead_lettered).toBe(0);

    const all = await trees(out);
    expect(all).toHaveLength(3);
    let parentsWithUnequalPriors = 0;
    for (const tree of all) {
      expect(tree.policy_version).toBe('openai@astro-tiny-llama3');
      expect(tree.stats.completion_tokens).toBeGreaterThan(0);
      const children = new Map<number, number[]>();
      for (const node of tree.nodes) if (node.parent >= 0) children.set(node.parent, [...(children.get(node.parent) ?? []), node.prior]);
      for (const priors of children.values()) if (priors.length > 1 && new Set(priors).size > 1) parentsWithUnequalPriors += 1;
      // Every terminal was judged by the verifier.
      for (const node of tree.nodes) if (node.terminal) expect(node.correct).not.toBeNull();
    }
    // Uniform priors (the old client on llama.cpp's logprob layout) would make every sibling set equal.
    expect(parentsWithUnequalPriors).toBeGreaterThan(0);

    // The trees' completion tokens are exactly what the server says it generated.
    const after = await llamaMetric(port, 'tokens_predicted_total');
    expect(all.reduce((sum, t) => sum + t.stats.completion_tokens, 0)).toBe(after - before);

    const rows = await duckdbRows(`SELECT problem_json, completion FROM read_parquet('${out}/traces/*.parquet', union_by_name = true)`).catch(() => []);
    expect(rows.length).toBe(summary.traces);
    const verifier = createCountdownVerifier();
    for (const row of rows) {
      const problem = Problem.parse(JSON.parse(String(row.problem_json)));
      expect((await verifier.verify(problem, String(row.completion))).correct).toBe(true);
    }
    const manifest = await readManifest(out);
    expect(manifest.versions.policy).toBe('openai@astro-tiny-llama3');
  }, 600_000);

  it('loses nothing when the server is stopped mid-run and started again: the run waits, then finishes with exit 0', async () => {
    const out = tempDir();
    const run = startCli(['run', '--policy', 'openai', '--base-url', baseUrl, '--config', config, '--problems', '3', '--numbers', '3', '--iterations', '8', '--k', '4', '--rollouts', '4', '--concurrency', '2', '--outage-ms', '120000', '--out', out, '--json']);
    try {
      // Mid-run: the server has generated some tokens for this run.
      const start = await llamaMetric(port, 'tokens_predicted_total');
      await waitFor(async () => (await llamaMetric(port, 'tokens_predicted_total')) > start + 300, { timeoutMs: 300_000, intervalMs: 100, message: 'the run to be under way' });
      const down = await runCli(['llm', 'down', '--dir', serverDir]);
      expect(down.stderr).toMatch(/stopped/);
      // The run notices and holds its requests instead of failing problems.
      await waitFor(() => /server unavailable/.test(run.output()), { timeoutMs: 60_000, message: 'the run to see the outage' });
      const up = await runCli(['llm', 'up', '--tiny', '--slots', String(SLOTS), '--ctx-per-slot', '1024', '--port', String(port), '--dir', serverDir], { timeoutMs: 300_000 });
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout.trim()).toBe(baseUrl);
      const exit = await Promise.race([run.exited, new Promise<never>((_, ko) => setTimeout(() => ko(new Error(`run did not finish:\n${run.output().slice(-3000)}`)), 900_000))]);
      expect(exit.code, run.output().slice(-3000)).toBe(0);
      const summary = JSON.parse(run.output().split('\n').find((l) => l.startsWith('{')) ?? '{}') as Summary;
      expect(summary.trees).toBe(3);
      expect(summary.dead_lettered).toBe(0);
      expect(await trees(out)).toHaveLength(3);
      const manifest = await readManifest(out);
      expect(manifest.counts['policy.outage_retries']).toBeGreaterThan(0);
      expect(manifest.counts['policy.calls_failed'] ?? 0).toBe(0);
    } finally {
      await run.stop('SIGKILL');
    }
  }, 1_200_000);

  it('llm up needs a model: exit 2 and one line', async () => {
    const result = await runCli(['llm', 'up', '--dir', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--model FILE.gguf and --tiny/);
  });
});

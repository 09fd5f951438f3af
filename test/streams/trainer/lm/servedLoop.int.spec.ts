import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyVersion } from '../../../../schemas/policyVersion.js';
import type { SearchTree } from '../../../../schemas/searchTree.js';
import { readManifest } from '../../../../streams/sinks/manifest.js';
import { readTreeArchive } from '../../../../streams/sinks/treeArchiveSink.js';
import { astroLm as runAstroLm, ok, python, sha256 } from '../../../helpers/astroLm.js';
import { REPO_ROOT, runCli, startCli } from '../../../helpers/cli.js';

// The loop closed: a model trained by astro_lm on `run`'s traces, exported to GGUF, served by
// llama-server as the openai policy of the next search; then a running search switched to a newer
// published version. Tiny budgets: a few SFT steps, a few problems, small trees.
// Small trees with short samples: the served models are 0.1M-parameter Llamas.
const SEARCH = ['--numbers', '3', '--iterations', '4', '--k', '2', '--rollouts', '2', '--concurrency', '2'];

const astroLm = (args: readonly string[]): Record<string, unknown> => ok(runAstroLm(args));

async function trees(out: string): Promise<SearchTree[]> {
  const all: SearchTree[] = [];
  for await (const tree of readTreeArchive(out)) all.push(tree);
  return all;
}

async function until(what: string, check: () => boolean, output: () => string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The llama-servers a run started (their state files under `.llm/served/<run pid>/`), and whether each still runs. */
function servers(runPid: number): { pid: number; alive: boolean }[] {
  const dir = join(REPO_ROOT, '.llm', 'served', String(runPid));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((d) => join(dir, d, 'server.json'))
    .filter((f) => existsSync(f))
    .map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { pid: number }).pid)
    .map((pid) => ({ pid, alive: existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ') }));
}

describe('the loop closed: a search-taught model served by llama-server searches again', () => {
  let dir: string;
  let gguf: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'astro-loop-'));
    const run = await runCli(['run', '--numbers', '3', '--problems', '30', '--seed', '5', '--out', join(dir, 'data')], { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    astroLm(['tokenizer', '--traces', join(dir, 'data', 'traces'), '--vocab-size', '600', '--out', join(dir, 'tok')]);
    astroLm(['sft', '--traces', join(dir, 'data', 'traces'), '--variant', 'search', '--tokenizer', join(dir, 'tok'), '--out', join(dir, 'sft'), '--tokens', '6000', '--batch-tokens', '1024', '--quiet']);
    gguf = join(dir, 'sft.gguf');
    astroLm(['export', '--model', join(dir, 'sft'), '--out', gguf]);
  }, 900_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('llm up serves the exported GGUF and run --policy openai searches with it, recording the model in every tree', async () => {
    const llmDir = join(dir, 'llm');
    const up = await runCli(['llm', 'up', '--model', gguf, '--alias', 'astro-lm-sft', '--slots', '2', '--ctx-per-slot', '1024', '--threads', '1', '--dir', llmDir], { timeoutMs: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    const baseUrl = up.stdout.trim();
    try {
      const out = join(dir, 'loop1');
      writeFileSync(join(dir, 'short.json'), JSON.stringify({ policy: { maxStepTokens: 48, maxRolloutTokens: 160 } }));
      const run = await runCli(['run', '--policy', 'openai', '--base-url', baseUrl, '--problems', '3', ...SEARCH, '--config', join(dir, 'short.json'), '--out', out, '--json'], { timeoutMs: 600_000 });
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { trees: number; dead_lettered: number };
      expect(summary.trees).toBe(3);
      expect(summary.dead_lettered).toBe(0);
      const searched = await trees(out);
      expect(searched).toHaveLength(3);
      for (const tree of searched) {
        expect(tree.policy_version).toBe('openai@astro-lm-sft');
        // The model generated them: requests went out and tokens came back.
        expect(tree.stats.policy_calls).toBeGreaterThan(0);
        expect(tree.stats.completion_tokens).toBeGreaterThan(0);
        expect(tree.nodes.length).toBeGreaterThan(1);
      }
      expect((await readManifest(out)).versions.policy).toBe('openai@astro-lm-sft');
    } finally {
      const down = await runCli(['llm', 'down', '--dir', llmDir]);
      expect(down.code, down.stderr).toBe(0);
    }
  }, 900_000);

  it('a running search switches to a newer published GGUF version, keeps every problem, and skips versions it cannot load', async () => {
    // Version 1: the SFT model trained further, exported and recorded by astro_lm's own publishing code.
    astroLm(['sft', '--traces', join(dir, 'data', 'traces'), '--variant', 'search', '--init', join(dir, 'sft'), '--out', join(dir, 'sft2'), '--tokens', '3000', '--batch-tokens', '1024', '--seed', '2', '--quiet']);
    const staged = join(dir, 'staged');
    const good = python(
      `import json, sys
from pathlib import Path
from astro_lm.export import export_content_addressed
from astro_lm.policy import policy_version_record
gguf, digest = export_content_addressed(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps(policy_version_record("astro-lm", 1, gguf, digest, 1, {"sft_tokens": 3000})))`,
      join(dir, 'sft2'),
      staged,
    ) as PolicyVersion;
    // Two versions that cannot be served: a GGUF cut short (llama-server refuses it), a file whose sha256 is not the record's.
    const truncated = join(staged, 'truncated.gguf');
    writeFileSync(truncated, readFileSync(good.path).subarray(0, 8192));
    const bad: PolicyVersion[] = [
      { ...good, path: truncated, sha256: sha256(truncated) },
      { ...good, sha256: '0'.repeat(64) },
    ];
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(dir, 'served.json'), JSON.stringify({ policy: { drainMs: 0, threads: 1, ctxPerSlot: 1024, maxStepTokens: 48, maxRolloutTokens: 160 } }));
    const out = join(dir, 'loop2');
    const problems = 24;
    const run = startCli(['run', '--serve-gguf', gguf, '--follow-policies', policies, '--problems', String(problems), ...SEARCH, '--config', join(dir, 'served.json'), '--out', out, '--json']);
    try {
      const v0 = `astro-lm@v0.${sha256(gguf).slice(0, 12)}`;
      const v1 = `astro-lm@v1.${good.sha256.slice(0, 12)}`;
      await until('the first trees', () => /search \[[#-]+\] ([1-9]|1\d)\//.test(run.stderr()), run.output);
      expect(run.stderr()).toContain(`served policy: ${v0}`);
      // Published while problems are being searched, the bad ones first, as `python -m astro_lm rl` appends them.
      python(
        `import json, sys
from pathlib import Path
from astro_lm.policy import publish
for record in json.loads(sys.argv[2]):
    publish(record, Path(sys.argv[1]))
print("null")`,
        policies,
        JSON.stringify([...bad, good]),
      );
      const ended = await run.exited;
      expect(ended.code, run.stderr().slice(-4000)).toBe(0);
      const stderr = run.stderr();
      const summary = JSON.parse(run.stdout()) as { trees: number; dead_lettered: number };

      // The two it could not serve: named with their version and why, and version 0 kept serving.
      expect(stderr).toContain(`cannot serve astro-lm@v1.${bad[0]?.sha256.slice(0, 12)} (version 1 of astro-lm): llama-server cannot serve ${truncated}: `);
      expect(stderr).toMatch(/failed to (read|load)/);
      expect(stderr).toContain(`cannot serve astro-lm@v1.${'0'.repeat(12)} (version 1 of astro-lm): ${good.path} has sha256 ${good.sha256}, the record says ${'0'.repeat(64)}; still serving version 0`);
      expect(stderr).toContain(`now serving ${v1}`);

      // No problem lost across the switch, and each tree names the version(s) that answered it.
      expect(summary.dead_lettered).toBe(0);
      expect(summary.trees).toBe(problems);
      const searched = await trees(out);
      expect(searched).toHaveLength(problems);
      const versions = searched.map((t) => t.policy_version);
      for (const v of versions) expect([v0, v1, `${v0}+${v1}`]).toContain(v);
      expect(versions.filter((v) => v.startsWith(v0)).length).toBeGreaterThan(0);
      expect(versions.filter((v) => v === v1).length).toBeGreaterThan(0);
      // Whether some tree spans both versions depends on a problem being between two answers at
      // the switch (usually true; with a CPU hog beside the suite it was not, once): the recording
      // of two versions in one tree is tested in parallelSearch.spec, not timed here.
      expect((await readManifest(out)).versions.policy).toBe(`${v0},${v1}`);
      // Every server the run started (version 0, the refused one, version 1) is stopped.
      const started = servers(run.pid);
      expect(started.length).toBe(3);
      expect(started.filter((server) => server.alive)).toEqual([]);
      rmSync(join(REPO_ROOT, '.llm', 'served', String(run.pid)), { recursive: true, force: true });
    } finally {
      await run.stop('SIGTERM');
    }
  }, 900_000);
});

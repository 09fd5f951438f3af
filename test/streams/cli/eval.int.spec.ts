import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { buildPolicyValueModel } from '../../../models/onnxGraph.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { countdownDomain } from '../../../domains/countdown/index.js';
import type { EvalResponse } from '../../../streams/trainer/evaluatePolicy.js';
import { runCli } from '../../helpers/cli.js';
import { startServePolicy, type ServePolicyProcess } from '../server/servePolicyProcess.js';

const readResponses = async (file: string): Promise<EvalResponse[]> =>
  (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as EvalResponse);

const byProblem = (responses: readonly EvalResponse[]): EvalResponse[][] => {
  const m = new Map<string, EvalResponse[]>();
  for (const r of responses) m.set(r.problem_id, [...(m.get(r.problem_id) ?? []), r]);
  return [...m.values()].map((rs) => rs.sort((a, b) => a.sample - b.sample));
};

// Spawns the compiled CLI (bin/astro-stream.js → dist/): build with `npx tsc -p tsconfig.json` first.
describe('astro-stream eval', () => {
  let dir: string;
  let modelPath: string;
  let modelSha: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astro-eval-'));
    const bytes = buildPolicyValueModel(initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, hidden: [8], seed: 4 }));
    modelSha = sha256Hex(bytes);
    modelPath = join(dir, `${modelSha}.onnx`);
    await writeFile(modelPath, bytes);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON line with solve_rate for the builtin network, the same for the same seed', async () => {
    const a = await runCli(['eval', '--policy', 'builtin', '--problems', '60', '--seed', '3']);
    expect(a.code, a.stderr).toBe(0);
    const lines = a.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ policy: 'builtin', search: 'greedy', problems: 60, seed: 3, numbers: 4 });
    expect(line.solve_rate).toBeGreaterThanOrEqual(0);
    expect(line.solve_rate).toBeLessThanOrEqual(1);
    expect(line.solved).toBe(Math.round((line.solve_rate as number) * 60));
    const b = await runCli(['eval', '--policy', 'builtin', '--problems', '60', '--seed', '3']);
    expect(JSON.parse(b.stdout).solved).toBe(line.solved);
  });

  it('evaluates a policy file with MCTS at a fixed budget', async () => {
    const r = await runCli(['eval', '--policy', modelPath, '--problems', '8', '--seed', '2', '--search', 'mcts:4', '--numbers', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ policy: modelPath, policy_sha256: modelSha, search: 'mcts:4', problems: 8, numbers: 3 });
  });

  it('rejects a bad --search or a missing policy file with a config error (exit 2)', async () => {
    const bad = await runCli(['eval', '--search', 'beam:3', '--problems', '5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--search must be greedy or mcts:ITER');
    const missing = await runCli(['eval', '--policy', join(dir, 'nope.onnx'), '--problems', '5']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot load policy');
  });
});

describe('astro-stream eval, the paper protocol (pass@1 over samples, maj@k, backtracks)', () => {
  let dir: string;
  let server: ServePolicyProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astro-eval-samples-'));
    server = await startServePolicy();
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('against serve-policy over HTTP: pass@1 and maj@k agree with the responses it wrote, one request of n samples per problem', async () => {
    const out = join(dir, 'responses.jsonl');
    const before = await server.stats();
    const r = await runCli(['eval', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '6', '--samples', '5', '--maj', '3', '--seed', '4', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as Record<string, unknown> & { pass_at_1: number; maj_at_k: number; avg_backtracks: number };
    expect(line).toMatchObject({ policy: 'openai', policy_version: 'openai@countdown-mlp', problem_set: 'countdown-held-out:4', problems: 6, samples: 5, maj_k: 3, seed: 4 });
    const after = await server.stats();
    expect((after.served as number) - (before.served as number)).toBe(6);
    expect((after.choices as number) - (before.choices as number)).toBe(30);

    const responses = await readResponses(out);
    expect(responses).toHaveLength(30);
    const problems = byProblem(responses);
    expect(problems).toHaveLength(6);
    // Recomputed from what was written: pass@1 as the mean per-problem share, maj@3 by expression value.
    const passAt1 = problems.reduce((a, rs) => a + rs.filter((x) => x.correct).length / rs.length, 0) / problems.length;
    expect(line.pass_at_1).toBeCloseTo(passAt1, 12);
    const majority = problems.map((rs) => {
      const votes = new Map<string, { n: number; correct: boolean }>();
      for (const x of rs.slice(0, 3)) {
        if (x.answer === null) continue;
        const key = countdownDomain.voteKey?.(x.answer) ?? x.answer;
        const v = votes.get(key) ?? { n: 0, correct: x.correct };
        votes.set(key, { ...v, n: v.n + 1 });
      }
      let best: { n: number; correct: boolean } | undefined;
      for (const v of votes.values()) if (best === undefined || v.n > best.n) best = v;
      return best?.correct === true ? 1 : 0;
    });
    expect(line.maj_at_k).toBeCloseTo(majority.reduce<number>((a, b) => a + b, 0) / 6, 12);
    for (const x of responses) expect(x.response).toMatch(/\\boxed\{/);
    // The built-in network never reflects: no backtracks, so no correlation to report.
    expect(line.avg_backtracks).toBe(0);
    expect(line.backtracks_correct_pearson).toBeNull();
    expect(r.stderr).toMatch(/pass@1\s+\d+\.\d%/);
    expect(r.stderr).toMatch(/maj@3\s+\d+\.\d%/);
    expect(r.stderr).toContain('Pearson r');
    // Same seed, same samples.
    const again = await runCli(['eval', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '6', '--samples', '5', '--maj', '3', '--seed', '4']);
    expect(JSON.parse(again.stdout)).toMatchObject({ pass_at_1: line.pass_at_1, maj_at_k: line.maj_at_k });
  });

  it('a math preset through the same command (dry-run policy, MATH-500 rows), judged by the math verifier', async () => {
    const file = resolve(import.meta.dirname, '../../fixtures/math/math500-head4.jsonl');
    const r = await runCli(['eval', '--policy', 'dry-run', '--preset', 'math500', '--file', file, '--samples', '4', '--maj', '3']);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as { problems: number; samples: number; pass_at_1: number; maj_at_k: number; policy_version: string };
    expect(line).toMatchObject({ problems: 4, samples: 4, maj_k: 3, policy_version: 'dry-run@1.0.0+synthetic' });
    // The dry-run policy follows the reference solution with injected mistakes: some right, some wrong.
    expect(line.pass_at_1).toBeGreaterThan(0);
    expect(line.pass_at_1).toBeLessThan(1);
  });

  it('the built-in network samples too, and bad combinations are config errors (exit 2)', async () => {
    const onnx = await runCli(['eval', '--policy', 'builtin', '--samples', '3', '--maj', '3', '--problems', '4', '--numbers', '3']);
    expect(onnx.code, onnx.stderr).toBe(0);
    expect(JSON.parse(onnx.stdout)).toMatchObject({ policy: 'builtin', problems: 4, samples: 3, problem_set: 'countdown-held-out:3' });
    const cases: [string[], string][] = [
      [['eval', '--policy', 'builtin', '--samples', '3', '--maj', '5'], '--maj 5 needs at least as many --samples'],
      [['eval', '--policy', 'builtin', '--preset', 'math500', '--datasets-dir', dir], 'is a Countdown network'],
      [['eval', '--policy', 'dry-run', '--preset', 'nope'], 'unknown --preset'],
      [['eval', '--policy', 'dry-run', '--preset', 'aime', '--datasets-dir', dir], 'no problem file'],
      [['eval', '--policy', 'openai', '--samples', '2', '--maj', '2'], '--policy openai needs --base-url'],
    ];
    for (const [args, message] of cases) {
      const bad = await runCli(args);
      expect(bad.stderr).toContain(message);
      expect(bad.code).toBe(2);
    }
    // Six CLI processes one after another: about 30 s idle, over a minute on a loaded machine.
  }, 600_000);
});

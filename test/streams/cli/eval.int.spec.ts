import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { buildPolicyValueModel } from '../../../models/onnxGraph.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { runCli } from '../../helpers/cli.js';

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

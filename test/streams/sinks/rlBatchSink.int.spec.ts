import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRlBatchSink, type RlBatchManifest } from '../../../streams/sinks/rlBatchSink.js';
import type { RolloutGroup } from '../../../schemas/rolloutGroup.js';

const group = (i: number, rewards: number[]): RolloutGroup => ({
  group_id: `g${i}`,
  problem_id: `p${i}`,
  domain: 'countdown',
  prompt: `Using the numbers 2, 3, ${i}, make 20.`,
  ground_truth: '20',
  policy_version: `countdown-mlp@v${i}.abcdefabcdef`,
  verifier: 'countdown@1.0.0',
  samples: rewards.map((r, k) => ({ completion: `Step 1: answer ${k}. \\boxed{${k}}`, answer: String(k), correct: r > 0, truncated: false, reward: r, logprob: -1, actions: [1] })),
  created_at: 0,
});

// pyarrow types and Hugging Face `datasets` features of both layouts, as JSON.
const READ = `
import json, sys
import pyarrow.parquet as pq
from datasets import load_dataset
out = {}
for layout in ('verl', 'trl'):
    path = sys.argv[1] + '/' + layout + '/step-000001.parquet'
    t = pq.read_table(path)
    ds = load_dataset('parquet', data_files=path, split='train')
    out[layout] = {'types': {f.name: str(f.type) for f in t.schema}, 'rows': t.to_pylist(), 'ds_columns': ds.column_names, 'ds_rows': len(ds), 'ds_first': json.loads(json.dumps(ds[0], default=str))}
print(json.dumps(out, default=str))
`;

describe('RL batch sink (verl and TRL layouts)', () => {
  let dir: string;
  let manifest: RlBatchManifest;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astro-rl-'));
    const sink = createRlBatchSink({ dir });
    manifest = await sink.writeStep(1, [group(1, [1, -1, -1, -1]), group(2, [-1, -1, -1, -1])]);
    manifest = await sink.writeStep(2, [group(3, [1, 1, -1, -1])]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every step and file with rows, checksums and the policy versions that sampled them', async () => {
    expect(manifest.steps.map((s) => s.step)).toEqual([1, 2]);
    const first = manifest.steps[0];
    expect(first?.policy_versions).toEqual(['countdown-mlp@v1.abcdefabcdef', 'countdown-mlp@v2.abcdefabcdef']);
    expect(first?.files.map((f) => [f.layout, f.path, f.rows])).toEqual([
      ['verl', 'verl/step-000001.parquet', 2],
      ['trl', 'trl/step-000001.parquet', 8],
    ]);
    const onDisk = JSON.parse(await readFile(join(dir, 'rl', 'manifest.json'), 'utf8')) as RlBatchManifest;
    expect(onDisk).toEqual(manifest);
  });

  it('pyarrow and Hugging Face datasets load both layouts with the expected columns', () => {
    const out = JSON.parse(execFileSync('python3', ['-c', READ, join(dir, 'rl')], { encoding: 'utf8' })) as Record<string, { types: Record<string, string>; rows: Record<string, unknown>[]; ds_columns: string[]; ds_rows: number; ds_first: Record<string, unknown> }>;
    const verl = out.verl;
    expect(verl?.types).toEqual({
      data_source: 'string',
      prompt: 'list<element: struct<role: string, content: string>>',
      ability: 'string',
      reward_model: 'struct<style: string, ground_truth: string>',
      extra_info: 'struct<split: string, index: int64, problem_id: string, group_id: string, policy_version: string>',
    });
    expect(verl?.ds_columns).toEqual(['data_source', 'prompt', 'ability', 'reward_model', 'extra_info']);
    expect(verl?.ds_rows).toBe(2);
    expect(verl?.ds_first).toMatchObject({
      data_source: 'astro-stream/countdown',
      prompt: [{ role: 'user', content: 'Using the numbers 2, 3, 1, make 20.' }],
      ability: 'countdown',
      reward_model: { style: 'rule', ground_truth: '20' },
      extra_info: { split: 'train', index: 0, problem_id: 'p1', group_id: 'g1' },
    });
    const trl = out.trl;
    expect(trl?.types).toEqual({ prompt: 'string', completion: 'string', reward: 'double', advantage: 'double', policy_version: 'string', group_id: 'string' });
    expect(trl?.ds_columns).toEqual(['prompt', 'completion', 'reward', 'advantage', 'policy_version', 'group_id']);
    const advantages = (trl?.rows ?? []).map((r) => r.advantage as number);
    // Group 1: one right of four → +√3 and −1/√3; group 2: all wrong → no signal, advantage 0.
    expect(advantages[0]).toBeCloseTo(Math.sqrt(3), 6);
    expect(advantages[1]).toBeCloseTo(-1 / Math.sqrt(3), 6);
    expect(advantages.slice(4)).toEqual([0, 0, 0, 0]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyValueNet } from '../../models/policyValueNet.js';
import { forwardPolicyValue } from '../../models/forward.js';
import { buildPolicyValueModel } from '../../models/onnxGraph.js';
import { createRng } from '../../operators/common/rng.js';
import { randomWeights } from './weightsFixture.js';

const F = 12;
const A = 20;
const weights = randomWeights(42, F, A, [16, 8]);

function batchInputs(seed: number, batch: number): { features: Float32Array; mask: Float32Array } {
  const rng = createRng(seed);
  const features = Float32Array.from({ length: batch * F }, () => rng.next() * 4 - 2);
  const mask = new Float32Array(batch * A);
  for (let b = 0; b < batch; b++) {
    for (let a = 0; a < A; a++) mask[b * A + a] = rng.next() < 0.4 ? 1 : 0;
    mask[b * A + rng.int(A)] = 1; // at least one legal action per row
  }
  return { features, mask };
}

describe('PolicyValueNet', () => {
  let net: PolicyValueNet;
  let single: PolicyValueNet;
  beforeAll(async () => {
    net = await PolicyValueNet.load(buildPolicyValueModel(weights), { maxBatch: 256 });
    single = await PolicyValueNet.fromWeights(weights, { maxBatch: 1 });
  });
  afterAll(async () => {
    await net.close();
    await single.close();
  });

  it('matches the plain TypeScript forward pass to 1e-5', async () => {
    const batch = 33;
    const { features, mask } = batchInputs(1, batch);
    const got = await net.evaluate(features, mask, batch);
    const want = forwardPolicyValue(weights, features, mask, batch);
    expect(got.priors.length).toBe(batch * A);
    let maxDiff = 0;
    for (let i = 0; i < got.priors.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.priors[i]! - want.priors[i]!));
    for (let i = 0; i < batch; i++) maxDiff = Math.max(maxDiff, Math.abs(got.values[i]! - want.values[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // The random weights are big enough that the outputs are far from uniform: the comparison means something.
    expect(Math.max(...got.priors)).toBeGreaterThan(0.5);
  });

  it('gives masked actions probability exactly 0, rows summing to 1, values in (0, 1)', async () => {
    const batch = 50;
    const { features, mask } = batchInputs(2, batch);
    const { priors, values } = await net.evaluate(features, mask, batch);
    for (let b = 0; b < batch; b++) {
      let sum = 0;
      for (let a = 0; a < A; a++) {
        const p = priors[b * A + a]!;
        if (mask[b * A + a] === 0) expect(p).toBe(0);
        else expect(p).toBeGreaterThanOrEqual(0);
        sum += p;
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
      expect(values[b]).toBeGreaterThan(0);
      expect(values[b]).toBeLessThan(1);
    }
  });

  it('splits batches by maxBatch and gives the same answers as one state per run', async () => {
    const batch = 37;
    const { features, mask } = batchInputs(3, batch);
    const runsBefore = single.runs();
    const one = await single.evaluate(features, mask, batch);
    expect(single.runs() - runsBefore).toBe(batch);
    const netBefore = net.runs();
    const all = await net.evaluate(features, mask, batch);
    expect(net.runs() - netBefore).toBe(1);
    for (let i = 0; i < all.priors.length; i++) expect(Math.abs(all.priors[i]! - one.priors[i]!)).toBeLessThan(1e-6);
    for (let i = 0; i < batch; i++) expect(Math.abs(all.values[i]! - one.values[i]!)).toBeLessThan(1e-6);

    const chunked = await PolicyValueNet.fromWeights(weights, { maxBatch: 10 });
    await chunked.evaluate(features, mask, batch);
    expect(chunked.runs()).toBe(4);
    await chunked.close();
  });

  it('rejects too-short inputs and a bad maxBatch', async () => {
    await expect(net.evaluate(new Float32Array(F), new Float32Array(A), 2)).rejects.toThrow(RangeError);
    await expect(PolicyValueNet.fromWeights(weights, { maxBatch: 0 })).rejects.toThrow(RangeError);
  });

  it('names its weights by sha256', () => {
    expect(net.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(single.sha256).toBe(net.sha256);
  });
});

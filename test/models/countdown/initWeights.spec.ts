import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateInitialCountdownModel, initPolicyValueWeights, INITIAL_COUNTDOWN_SEED } from '../../../models/countdown/initWeights.js';
import { initialCountdownModelPath } from '../../../models/paths.js';
import { readPolicyValueWeights } from '../../../models/onnxGraph.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { ACTION_COUNT, FEATURE_COUNT, applyAction, encodeState, initialState, legalMask } from '../../../domains/countdown/actions.js';
import type { Problem } from '../../../schemas/problem.js';

const problem: Problem = { id: 'p1', domain: 'countdown', source: 'test', question: 'q', answer: '24', numbers: [3, 8, 25, 7, 1, 50], target: 24 };

describe('initial Countdown weights', () => {
  it('regenerates byte-identically to the committed models/countdown/initial.onnx', () => {
    const committed = readFileSync(initialCountdownModelPath());
    expect(sha256Hex(generateInitialCountdownModel())).toBe(sha256Hex(committed));
  });

  it('has the Countdown shapes and a 128-128 trunk', () => {
    const w = readPolicyValueWeights(new Uint8Array(readFileSync(initialCountdownModelPath())));
    expect([w.featureCount, w.actionCount]).toEqual([FEATURE_COUNT, ACTION_COUNT]);
    expect(w.trunk.map((l) => l.outputSize)).toEqual([128, 128]);
  });

  it('depends on the seed, and only on the seed', () => {
    const cfg = { featureCount: 5, actionCount: 7, hidden: [4], seed: INITIAL_COUNTDOWN_SEED };
    expect(initPolicyValueWeights(cfg).trunk[0]!.weight).toEqual(initPolicyValueWeights(cfg).trunk[0]!.weight);
    expect(initPolicyValueWeights({ ...cfg, seed: 1 }).trunk[0]!.weight).not.toEqual(initPolicyValueWeights(cfg).trunk[0]!.weight);
  });

  describe('untrained behaviour', () => {
    let net: PolicyValueNet;
    beforeAll(async () => {
      net = await PolicyValueNet.load(initialCountdownModelPath());
    });
    afterAll(() => net.close());

    it('gives a near-uniform prior over legal actions and a value near 0.5', async () => {
      const s0 = initialState(problem);
      const s1 = applyAction(s0, (0 * 6 + 1) * 4 + 0).state; // slot 0 + slot 1: 3 + 8
      const states = [s0, s1];
      const features = new Float32Array(states.length * FEATURE_COUNT);
      const mask = new Float32Array(states.length * ACTION_COUNT);
      const legal = states.map((s, k) => {
        encodeState(s, features, k * FEATURE_COUNT);
        return legalMask(s, mask, k * ACTION_COUNT);
      });
      const { priors, values } = await net.evaluate(features, mask, states.length);
      states.forEach((_, k) => {
        const uniform = 1 / legal[k]!;
        for (let a = 0; a < ACTION_COUNT; a++) {
          const p = priors[k * ACTION_COUNT + a]!;
          if (mask[k * ACTION_COUNT + a] === 1) expect(Math.abs(p - uniform) / uniform).toBeLessThan(0.1);
          else expect(p).toBe(0);
        }
        expect(Math.abs(values[k]! - 0.5)).toBeLessThan(0.05);
      });
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT, encodeState, initialState, legalMask } from '../../../domains/countdown/actions.js';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { forwardPolicyValue } from '../../../models/forward.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { buildPolicyValueModel, readPolicyValueWeights, type PolicyValueWeights } from '../../../models/onnxGraph.js';
import { clippedSurrogate } from '../../../operators/rl/clippedObjective.js';
import { packBatch } from '../../../operators/rl/packBatch.js';
import type { PolicySequence, StateExample } from '../../../operators/rl/trainingExamples.js';
import { TfjsTrainer } from '../../../streams/trainer/tfjsTrainer.js';

const initial = initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, hidden: [32], seed: 5, headScale: 0.5 });
const states = generateCountdownProblems({ count: 16, seed: 3, numbers: 4 }).map(initialState);

function row(k: number): { features: Float32Array; mask: Float32Array } {
  const features = new Float32Array(FEATURE_COUNT);
  const mask = new Float32Array(ACTION_COUNT);
  const s = states[k % states.length];
  if (s === undefined) throw new Error('no state');
  encodeState(s, features);
  legalMask(s, mask);
  return { features, mask };
}

const firstLegal = (mask: Float32Array): number => mask.findIndex((m) => m === 1);
const logp = (w: PolicyValueWeights, r: { features: Float32Array; mask: Float32Array }, action: number): number => Math.log(forwardPolicyValue(w, r.features, r.mask, 1).priors[action] ?? 0);

describe('TfjsTrainer (tfjs wasm in a worker thread)', () => {
  let trainer: TfjsTrainer;
  beforeAll(async () => {
    trainer = await TfjsTrainer.start(initial, { learningRate: 3e-3, clipEpsilon: 0.2, valueWeight: 1 });
  });
  afterAll(async () => {
    await trainer.close();
  });

  it('exports exactly the weights it started from, in the ONNX builder layout', async () => {
    const w = await trainer.exportWeights();
    const round = readPolicyValueWeights(buildPolicyValueModel(w));
    expect(round.trunk[0]?.weight).toEqual(initial.trunk[0]?.weight);
    expect(round.policy.bias).toEqual(initial.policy.bias);
  });

  it('reports the clipped GRPO surrogate computed from the pre-step weights (ε = 0.2)', async () => {
    const before = await trainer.exportWeights();
    const r = row(0);
    const action = firstLegal(r.mask);
    const seqLogp = logp(before, r, action);
    // Old policy 1.5× less likely: ratio 1.5 is past 1 + ε, so a positive advantage is clipped at 1.2·A.
    const seq: PolicySequence = { steps: [{ ...r, action }], advantage: 2, oldLogp: seqLogp - Math.log(1.5), outcome: 1 };
    const stats = await trainer.train(packBatch([], [seq]));
    expect(stats.pg).toBeCloseTo(-clippedSurrogate(seqLogp, seq.oldLogp, 2), 3);
    expect(stats.pg).toBeCloseTo(-2.4, 3);
  });

  it('a positive advantage makes the sampled actions more likely, a negative one less', async () => {
    const before = await trainer.exportWeights();
    const up = row(1);
    const down = row(2);
    const aUp = firstLegal(up.mask);
    const aDown = firstLegal(down.mask);
    const seqs: PolicySequence[] = [
      { steps: [{ ...up, action: aUp }], advantage: 1, oldLogp: logp(before, up, aUp), outcome: 1 },
      { steps: [{ ...down, action: aDown }], advantage: -1, oldLogp: logp(before, down, aDown), outcome: 0 },
    ];
    for (let i = 0; i < 3; i++) await trainer.train(packBatch([], seqs));
    const after = await trainer.exportWeights();
    expect(logp(after, up, aUp)).toBeGreaterThan(logp(before, up, aUp));
    expect(logp(after, down, aDown)).toBeLessThan(logp(before, down, aDown));
  });

  it('fits AlphaZero targets: the policy loss falls and the target action becomes the argmax', async () => {
    const examples: StateExample[] = states.map((_, k) => {
      const r = row(k);
      const target = new Float32Array(ACTION_COUNT);
      target[firstLegal(r.mask)] = 1;
      return { ...r, policyTarget: target, valueTarget: k % 2 };
    });
    const batch = packBatch(examples, []);
    const first = await trainer.train(batch);
    let last = first;
    for (let i = 0; i < 60; i++) last = await trainer.train(batch);
    expect(last.az).toBeLessThan(first.az * 0.5);
    expect(last.value).toBeLessThan(first.value);
    const w = await trainer.exportWeights();
    const r = row(4);
    const { priors } = forwardPolicyValue(w, r.features, r.mask, 1);
    const best = priors.indexOf(Math.max(...priors));
    expect(best).toBe(firstLegal(r.mask));
  });
});

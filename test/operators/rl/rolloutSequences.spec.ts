import { describe, expect, it } from 'vitest';
import { ACTION_COUNT, FEATURE_COUNT } from '../../../domains/countdown/actions.js';
import { packBatch } from '../../../operators/rl/packBatch.js';
import { countdownStartOf, rolloutSequences } from '../../../operators/rl/rolloutSequences.js';
import type { RolloutGroup, RolloutSample } from '../../../schemas/rolloutGroup.js';
import { countdownPrompt } from '../../../domains/countdown/index.js';
import { PROBLEM, answer, combine } from './fixtures.js';

const sample = (actions: number[], correct: boolean, logprob = -2): RolloutSample => ({
  completion: '',
  answer: null,
  correct,
  truncated: false,
  reward: correct ? 1 : -1,
  logprob,
  actions,
});

const group = (samples: RolloutSample[]): RolloutGroup => ({
  group_id: 'g',
  problem_id: PROBLEM.id,
  domain: 'countdown',
  prompt: countdownPrompt(PROBLEM),
  ground_truth: '20',
  policy_version: 'countdown-mlp@v1.abcdefabcdef',
  verifier: 'countdown@1.0.0',
  samples,
  created_at: 0,
});

const right = [combine(0, 1, 0), combine(0, 1, 2), answer(0)];
// A complete wrong attempt: 3 - 2 = 1, 1 + 4 = 5, boxed (5, not 20).
const wrong = [combine(1, 0, 1), combine(0, 1, 0), answer(0)];

describe('rolloutSequences', () => {
  it('reads the problem back from the prompt', () => {
    const start = countdownStartOf(group([]));
    expect(start?.numbers).toEqual([2, 3, 4]);
    expect(start?.target).toBe(20);
    expect(countdownStartOf({ prompt: 'What is 2+2?' })).toBeNull();
  });

  it('replays actions into states and attaches group-normalized advantages', () => {
    const r = rolloutSequences(group([sample(right, true, -3), sample(wrong, false), sample(wrong, false), sample(wrong, false)]), countdownStartOf);
    expect(r.skippedEqual).toBe(false);
    expect(r.sequences).toHaveLength(4);
    expect(r.sequences[0]?.steps.map((s) => s.action)).toEqual(right);
    expect(r.sequences[0]?.oldLogp).toBe(-3);
    expect(r.sequences[0]?.advantage).toBeGreaterThan(0);
    expect(r.sequences[1]?.advantage).toBeLessThan(0);
    expect(r.sequences[0]?.outcome).toBe(1);
  });

  it('skips groups with equal rewards and counts unreplayable samples', () => {
    expect(rolloutSequences(group([sample(wrong, false), sample(wrong, false)]), countdownStartOf)).toEqual({ sequences: [], skippedEqual: true, unreplayable: 0 });
    const r = rolloutSequences(group([sample(right, true), sample([combine(0, 0, 0)], false), { ...sample(wrong, false), logprob: null }]), countdownStartOf);
    expect(r.unreplayable).toBe(2);
    expect(r.sequences).toHaveLength(1);
  });

  it('packs AlphaZero rows and sequence steps into one batch with a segment matrix', () => {
    const r = rolloutSequences(group([sample(right, true), sample(wrong, false)]), countdownStartOf);
    const example = { features: new Float32Array(FEATURE_COUNT).fill(0.5), mask: new Float32Array(ACTION_COUNT).fill(1), policyTarget: null, valueTarget: 1 };
    const batch = packBatch([example], r.sequences);
    expect(batch.size).toBe(1 + 3 + 3);
    expect(batch.sequences).toBe(2);
    expect([...batch.action]).toEqual([-1, ...right, ...wrong]);
    expect([...batch.policyWeight]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    // Row r belongs to sequence s when segment[s * size + r] = 1.
    expect([...batch.segment]).toEqual([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect([...batch.valueTarget]).toEqual([1, 1, 1, 1, 0, 0, 0]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createOnnxCountdownPolicy, createCountdownNetPolicy, greedySolve, greedySolveAll } from '../../../streams/policies/onnxPolicy.js';
import { argmaxLegal, sampleAction } from '../../../streams/policies/sampling.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import { initPolicyValueWeights } from '../../../models/countdown/initWeights.js';
import { initialCountdownModelPath } from '../../../models/paths.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import { createRng } from '../../../operators/common/rng.js';
import { STEP_DELIMITER, isTerminalStep, type Policy, type SampleOptions, type SearchState } from '../../../operators/mcts/policy.js';
import { ACTION_COUNT, FEATURE_COUNT, applyAction, initialState, legalMask, replaySteps } from '../../../domains/countdown/actions.js';
import type { Problem } from '../../../schemas/problem.js';
import { readFileSync } from 'node:fs';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';

const problem = (id: string, numbers: number[], target: number): Problem => ({
  id,
  domain: 'countdown',
  source: 'test',
  question: `Use ${numbers.join(', ')} to make ${target}.`,
  answer: String(target),
  numbers,
  target,
});

const P1 = problem('p1', [3, 8, 25, 7, 1, 50], 24);
const P2 = problem('p2', [4, 6, 9], 15);
const P3 = problem('p3', [75, 25, 8, 3], 400);
const opts: SampleOptions = { seed: 11, temperature: 1, topP: 0.95 };

const states: SearchState[] = [
  { problem: P1, steps: [] },
  { problem: P2, steps: ['Step 1: 9 - 4 = 5. Remaining: 5, 6.'] },
  { problem: P3, steps: ['Step 1: 75 - 25 = 50. Remaining: 50, 8, 3.'] },
  { problem: P2, steps: ['Step 1: 9 - 4 = 6. Remaining: 6, 6.'] }, // wrong arithmetic: does not replay
  { problem: P2, steps: ['Step 1: 4 + 6 + 9 = 19.'] }, // not a step
  { problem: P2, steps: ['Step 1: 9 = 9. The answer is \\boxed{9}.'] }, // already answered
];

describe('sampleAction', () => {
  const probs = Float32Array.from([0.5, 0.3, 0, 0.2]);
  const mask = Float32Array.from([1, 1, 0, 1]);

  it('never samples an illegal action, and follows the prior at temperature 1', () => {
    const rng = createRng(5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleAction(probs, mask, 0, 4, { temperature: 1, topP: 1 }, rng)]!++;
    expect(counts[2]).toBe(0);
    expect(counts[0]! / 4000).toBeCloseTo(0.5, 1);
    expect(counts[3]! / 4000).toBeCloseTo(0.2, 1);
  });

  it('cuts the tail with top-p and is greedy at temperature 0', () => {
    const rng = createRng(6);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(sampleAction(probs, mask, 0, 4, { temperature: 1, topP: 0.7 }, rng));
    expect([...seen].sort()).toEqual([0, 1]);
    expect(sampleAction(probs, mask, 0, 4, { temperature: 0, topP: 1 }, rng)).toBe(0);
    expect(argmaxLegal(Float32Array.from([0.9, 0.1]), Float32Array.from([0, 1]), 0, 2)).toBe(1);
    expect(sampleAction(probs, new Float32Array(4), 0, 4, { temperature: 1, topP: 1 }, rng)).toBe(-1);
  });

  it('sharpens at low temperature and flattens at high temperature', () => {
    const rng = createRng(7);
    const draw = (temperature: number) => {
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 3000; i++) counts[sampleAction(probs, mask, 0, 4, { temperature, topP: 1 }, rng)]!++;
      return counts.map((c) => c / 3000);
    };
    expect(draw(0.05)[0]).toBeGreaterThan(0.99);
    const flat = draw(100);
    for (const a of [0, 1, 3]) expect(flat[a]).toBeCloseTo(1 / 3, 1);
    expect(flat[2]).toBe(0);
  });

  it('breaks top-p ties by action index, reads at an offset, and goes uniform when every legal prior is 0', () => {
    const rng = createRng(8);
    const tied = Float32Array.from([9, 0.25, 0.25, 0.25, 0.25]);
    const all = Float32Array.from([1, 1, 1, 1, 1]);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(sampleAction(tied, all, 1, 4, { temperature: 1, topP: 0.5 }, rng));
    expect([...seen].sort()).toEqual([0, 1]);
    const zeros = new Float32Array(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 900; i++) counts[sampleAction(zeros, Float32Array.from([1, 0, 1]), 0, 3, { temperature: 1, topP: 0.9 }, rng)]!++;
    expect(counts[1]).toBe(0);
    expect(counts[0]).toBeGreaterThan(300);
    expect(counts[2]).toBeGreaterThan(300);
  });
});

describe('onnx Countdown policy', () => {
  let policy: Policy;
  let single: Policy;
  beforeAll(async () => {
    policy = await createOnnxCountdownPolicy();
    single = await createOnnxCountdownPolicy({ maxBatch: 1, version: 'custom@1' });
  });
  afterAll(async () => {
    await policy.close?.();
    await single.close?.();
  });

  it('is versioned by the model hash', () => {
    const sha = sha256Hex(readFileSync(initialCountdownModelPath()));
    expect(policy.version).toBe(`countdown-mlp@${sha.slice(0, 12)}`);
    expect(single.version).toBe('custom@1');
  });

  it('proposes n legal steps per live state, with network priors, in one network call', async () => {
    const before = policy.usage().calls;
    const out = await policy.proposeSteps(states, 8, opts);
    expect(policy.usage().calls - before).toBe(1);
    expect(out.map((o) => o.length)).toEqual([8, 8, 8, 0, 0, 0]);
    out.slice(0, 3).forEach((proposals, i) => {
      const s = states[i]!;
      for (const p of proposals) {
        const next = replaySteps(s.problem, [...s.steps, p.text]);
        expect('error' in next ? next.error : null).toBeNull();
        expect(p.text).toMatch(new RegExp(`^Step ${s.steps.length + 1}: `));
        expect(p.text.includes('\n\n')).toBe(false);
        expect(p.prior).toBeGreaterThan(0);
        expect(p.prior).toBeLessThan(1);
      }
    });
    // P2 after one step has 2 numbers left, neither the target: 5 + 6, 6 - 5, 5 * 6 are legal, no answer.
    const mask = new Float32Array(ACTION_COUNT);
    const s1 = replaySteps(P2, states[1]!.steps);
    if ('error' in s1) throw new Error(s1.error);
    expect(s1.numbers).not.toContain(P2.target);
    expect(legalMask(s1, mask)).toBe(3);
    for (const p of out[1]!) expect(p.prior).toBeCloseTo(1 / 3, 2);
  });

  it('is deterministic for a seed and varies with the seed; temperature 0 is greedy', async () => {
    const a = await policy.proposeSteps(states, 6, opts);
    const b = await single.proposeSteps(states, 6, opts);
    expect(b).toEqual(a);
    const c = await policy.proposeSteps(states, 6, { ...opts, seed: 12 });
    expect(c.map((x) => x.map((p) => p.text))).not.toEqual(a.map((x) => x.map((p) => p.text)));
    const greedy = await policy.proposeSteps(states.slice(0, 1), 4, { ...opts, temperature: 0 });
    expect(new Set(greedy[0]!.map((p) => p.text)).size).toBe(1);
  });

  it('only ever proposes steps that replay (property over random problems and prefixes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 3, maxLength: 6 }),
        fc.integer({ min: 1, max: 999 }),
        fc.integer({ min: 0, max: 1e6 }),
        async (numbers, target, seed) => {
          const p = problem('prop', numbers, target);
          // A random legal prefix, built with the domain's own actions.
          const rng = createRng(seed);
          let s = initialState(p);
          const steps: string[] = [];
          const mask = new Float32Array(ACTION_COUNT);
          for (let k = rng.int(numbers.length); k > 0; k--) {
            legalMask(s, mask);
            const combines = [...mask.keys()].filter((a) => mask[a] === 1 && a < ACTION_COUNT - 6);
            if (combines.length === 0) break;
            const applied = applyAction(s, combines[rng.int(combines.length)]!);
            s = applied.state;
            steps.push(applied.step);
          }
          const [proposals] = await policy.proposeSteps([{ problem: p, steps }], 4, { seed, temperature: 1.3, topP: 0.9 });
          expect(proposals).toHaveLength(4);
          for (const prop of proposals!) expect('error' in replaySteps(p, [...steps, prop.text])).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('plays rollouts to a boxed answer, in lock-step rounds', async () => {
    const before = policy.usage().calls;
    const out = await policy.rollout(states, 16, opts);
    const rounds = policy.usage().calls - before;
    expect(out.map((o) => o.length)).toEqual([16, 16, 16, 0, 0, 0]);
    // One network call per round: at most as many rounds as the longest game (6 numbers: 5 combines + answer).
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(rounds).toBeLessThanOrEqual(6);
    out.slice(0, 3).forEach((rollouts, i) => {
      const s = states[i]!;
      for (const r of rollouts) {
        expect(r.truncated).toBe(false);
        const steps = r.text.split(STEP_DELIMITER);
        expect(isTerminalStep(steps[steps.length - 1]!)).toBe(true);
        expect(steps.slice(0, -1).some(isTerminalStep)).toBe(false);
        const end = replaySteps(s.problem, [...s.steps, ...steps]);
        if ('error' in end) throw new Error(end.error);
        expect(end.answered).not.toBeNull();
      }
    });
  });

  it('truncates rollouts at maxSteps', async () => {
    const [rollouts] = await policy.rollout(states.slice(0, 1), 32, { ...opts, maxSteps: 2 });
    expect(rollouts!.some((r) => r.truncated)).toBe(true);
    for (const r of rollouts!) {
      const steps = r.text.split(STEP_DELIMITER);
      expect(steps.length).toBeLessThanOrEqual(2);
      expect(r.truncated).toBe(!isTerminalStep(steps[steps.length - 1]!));
    }
  });

  it('gives identical seeded rollouts with maxBatch 1 and 256, and differs with the seed', async () => {
    const a = await policy.rollout(states, 8, opts);
    const b = await single.rollout(states, 8, opts);
    expect(b).toEqual(a);
    const c = await policy.rollout(states, 8, { ...opts, seed: 99 });
    expect(c).not.toEqual(a);
  });
});

describe('greedySolve and createCountdownNetPolicy', () => {
  it('plays the argmax to an answer, the same alone or in a batch', async () => {
    const net = await PolicyValueNet.load(initialCountdownModelPath(), { maxBatch: 2 });
    const alone = await greedySolve(net, P3);
    expect(isTerminalStep(alone[alone.length - 1]!)).toBe(true);
    expect('error' in replaySteps(P3, alone)).toBe(false);
    const all = await greedySolveAll(net, [P1, P3, P2]);
    expect(all[1]).toEqual(alone);
    await net.close();
  });

  it('rejects a network of the wrong shape', async () => {
    const net = await PolicyValueNet.fromWeights(initPolicyValueWeights({ featureCount: FEATURE_COUNT + 1, actionCount: ACTION_COUNT, hidden: [4], seed: 1 }));
    expect(() => createCountdownNetPolicy(net)).toThrow(/features/);
    await net.close();
  });
});

describe('onnx policy on generated problems, judged by the Countdown verifier', () => {
  it('rollouts are well-formed solutions whose verdict matches the replayed arithmetic', async () => {
    const policy = await createOnnxCountdownPolicy({ maxBatch: 64 });
    const verifier = createCountdownVerifier();
    const problems = generateCountdownProblems({ count: 12, seed: 3, numbers: 4 });
    const rollouts = await policy.rollout(problems.map((p) => ({ problem: p, steps: [] })), 16, opts);
    let correct = 0;
    for (const [i, p] of problems.entries()) {
      expect(rollouts[i]).toHaveLength(16);
      for (const r of rollouts[i]!) {
        const end = replaySteps(p, r.text.split(STEP_DELIMITER));
        if ('error' in end) throw new Error(end.error);
        const verdict = await verifier.verify(p, r.text);
        expect(verdict.extracted).not.toBeNull();
        const answeredValue = end.numbers[end.exprs.indexOf(end.answered ?? '')];
        expect(verdict.correct).toBe(answeredValue === p.target);
        if (verdict.correct) correct++;
      }
    }
    // An untrained uniform policy still solves some 4-number problems by chance, but not most.
    expect(correct).toBeGreaterThan(0);
    expect(correct).toBeLessThan(12 * 16);
    await policy.close?.();
  });
});

import { describe, expect, it } from 'vitest';
import { computePriors, dedupeProposals, selectCandidates } from '../../../operators/mcts/candidates.js';

describe('dedupeProposals', () => {
  it('drops exact duplicates after trimming, keeps the first occurrence, returns trimmed text', () => {
    const { kept, dropped } = dedupeProposals([
      { text: 'Add 1: total 1.', logprob: -1 },
      { text: '  Add 1: total 1.\n', logprob: -5 },
      { text: 'Add 2: total 2.' },
      { text: 'add 1: total 1.' }, // case differs: not an exact duplicate
    ]);
    expect(kept.map((p) => p.text)).toEqual(['Add 1: total 1.', 'Add 2: total 2.', 'add 1: total 1.']);
    expect(kept[0]?.logprob).toBe(-1);
    expect(dropped).toBe(1);
  });

  it('drops duplicates of existing siblings and empty steps', () => {
    const { kept, dropped } = dedupeProposals([{ text: ' A ' }, { text: '   ' }, { text: 'B' }, { text: '' }], ['A\n']);
    expect(kept.map((p) => p.text)).toEqual(['B']);
    expect(dropped).toBe(3);
  });
});

describe('computePriors', () => {
  it('is a softmax over length-normalized logprobs', () => {
    const priors = computePriors([{ text: 'a', logprob: Math.log(0.2) }, { text: 'b', logprob: Math.log(0.6) }]);
    expect(priors[0]).toBeCloseTo(0.25, 12);
    expect(priors[1]).toBeCloseTo(0.75, 12);
  });

  it('is stable for very negative logprobs', () => {
    const priors = computePriors([{ text: 'a', logprob: -2000 }, { text: 'b', logprob: -2000 - Math.log(3) }]);
    expect(priors[0]).toBeCloseTo(0.75, 12);
    expect(priors[1]).toBeCloseTo(0.25, 12);
  });

  it('prefers backend priors over logprobs', () => {
    const priors = computePriors([{ text: 'a', prior: 0.25, logprob: -9 }, { text: 'b', prior: 0.75, logprob: -0.1 }]);
    expect(priors).toEqual([0.25, 0.75]);
  });

  it('is uniform without scores, when scores are mixed, or when priors are all zero', () => {
    expect(computePriors([{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }])).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(computePriors([{ text: 'a', logprob: -1 }, { text: 'b' }])).toEqual([0.5, 0.5]);
    expect(computePriors([{ text: 'a', prior: 0 }, { text: 'b', prior: 0 }])).toEqual([0.5, 0.5]);
    expect(computePriors([{ text: 'a', logprob: Number.NaN }, { text: 'b', logprob: -1 }])).toEqual([0.5, 0.5]);
    expect(computePriors([])).toEqual([]);
  });
});

describe('selectCandidates', () => {
  it('renormalizes priors over the kept siblings after dedupe', () => {
    const { candidates, dropped } = selectCandidates([
      { text: 'x', logprob: Math.log(0.5) },
      { text: 'x ', logprob: Math.log(0.5) },
      { text: 'y', logprob: Math.log(0.25) },
      { text: 'z', logprob: Math.log(0.25) },
    ]);
    expect(dropped).toBe(1);
    expect(candidates.map((c) => c.text)).toEqual(['x', 'y', 'z']);
    expect(candidates.map((c) => c.prior)).toEqual([0.5, 0.25, 0.25].map((p) => expect.closeTo(p, 12)));
    expect(candidates.reduce((a, c) => a + c.prior, 0)).toBeCloseTo(1, 12);
  });

  it('gives 1/kept for uniform priors (not 1/k)', () => {
    const { candidates } = selectCandidates([{ text: 'a' }, { text: 'a' }, { text: 'b' }, { text: 'b' }]);
    expect(candidates.map((c) => c.prior)).toEqual([0.5, 0.5]);
  });
});

describe('computePriors with unnormalized backend priors', () => {
  it('renormalizes them to sum to 1', () => {
    const priors = computePriors([{ text: 'a', prior: 0.1 }, { text: 'b', prior: 0.3 }]);
    expect(priors[0]).toBeCloseTo(0.25, 12);
    expect(priors[1]).toBeCloseTo(0.75, 12);
  });
});

import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { createDecontaminator, decontaminate, normalizeProblemText } from '../../../streams/sources/index.js';
import type { Problem } from '../../../schemas/problem.js';

const p = (id: string, question: string): Problem => ({ id, domain: 'math', source: 't', question, answer: '1' });

describe('normalizeProblemText', () => {
  it('lowercases, strips punctuation and LaTeX markup characters, collapses whitespace', () => {
    expect(normalizeProblemText('  What is $2 + 2$?\n\nAnswer  NOW.')).toBe('what is 2 2 answer now');
    expect(normalizeProblemText('Find $\\frac{1}{2}$.')).toBe(normalizeProblemText('find   \\frac{1}{2}'));
  });
});

describe('decontaminate', () => {
  const evalSet = ['What is $2+2$?', 'Compute the sum of all primes below 10.'];

  it('drops problems matching an evaluation question after normalization, counting each drop', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const metrics = new InMemoryMetrics();
    const d = createDecontaminator(evalSet);
    expect(d.size).toBe(2);
    scheduler.run(({ cold, expectObservable }) => {
      const values = { a: p('a', 'what is 2+2'), b: p('b', 'What is 2+3?'), c: p('c', 'COMPUTE the sum of all primes below 10'), d: p('d', 'Compute the sum of all primes below 100.') };
      expectObservable(cold('a-b-c-d|', values).pipe(decontaminate({ decontaminator: d, metrics }))).toBe('--b---d|', values);
    });
    expect(metrics.counter('source.decontaminated')).toBe(2);
  });

  it('drops nothing when the evaluation set is empty', () => {
    const d = createDecontaminator([]);
    expect(d.isContaminated('anything')).toBe(false);
  });
});

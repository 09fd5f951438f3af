import { firstValueFrom, from, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import type { Result } from '../../../operators/common/result.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import { verifyTrees } from '../../../operators/verify/verifyTrees.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { buildTree, testVerifier } from '../../helpers/treeArbitraries.js';

const tree = (id: string, answers: readonly string[]): SearchTree =>
  buildTree(answers.map((a) => ({ step: 'Step A.', children: [{ step: `So \\boxed{${a}}.` }] })), { treeId: id });

/** Never answers: only the timeout can end its labelling. */
const hanging: Verifier = { ...testVerifier, verify: () => new Promise(() => undefined) };

const summary = (r: Result<VerifiedTree, SearchTree>): string =>
  r.ok ? `ok:${r.value.tree_id}:${r.value.valid}` : `${r.error.kind}:${r.error.retriable}:${r.input?.tree_id ?? '-'}`;

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('verifyTrees', () => {
  it('times a hanging tree out as a retriable failure carrying the tree (concurrency 1)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const trees = cold('ab|', { a: tree('a', ['3']), b: tree('b', ['3']) });
      const out = trees.pipe(verifyTrees({ concurrency: 1, timeoutMs: 5 }, { verifier: hanging }), map(summary));
      // b waits for a's slot: it starts at frame 5 and times out at frame 10.
      expectObservable(out).toBe('5ms a 4ms (b|)', { a: 'timeout:true:a', b: 'timeout:true:b' });
    });
  });

  it('runs trees concurrently up to the limit, each with its own timeout', () => {
    const metrics = new InMemoryMetrics();
    marbles().run(({ cold, expectObservable, flush }) => {
      const trees = cold('a-bc|', { a: tree('a', ['3']), b: tree('b', ['3']), c: tree('c', ['3']) });
      const out = trees.pipe(verifyTrees({ concurrency: 2, timeoutMs: 10 }, { verifier: hanging, metrics }), map(summary));
      // a at 0→10, b at 2→12; c waits for a's slot: 10→20.
      expectObservable(out).toBe('10ms a-b 7ms (c|)', { a: 'timeout:true:a', b: 'timeout:true:b', c: 'timeout:true:c' });
      flush();
      expect(metrics.counter('verify.timeouts')).toBe(3);
      expect(metrics.counter('verify.trees')).toBe(0);
    });
  });

  it('uses the injected scheduler for the timeout', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a|', { a: tree('a', ['3']) }).pipe(verifyTrees({ concurrency: 1, timeoutMs: 30 }, { verifier: hanging, scheduler }), map(summary));
      expectObservable(out).toBe('30ms (a|)', { a: 'timeout:true:a' });
    });
  });

  it('labels trees, flags invalid ones and counts relabels', async () => {
    const metrics = new InMemoryMetrics();
    const relabel = buildTree([{ step: 'So \\boxed{4}.', recorded: true }, { step: 'So \\boxed{3}.' }], { treeId: 'r' });
    const out = await firstValueFrom(
      from([tree('good', ['3', '4']), tree('bad', ['4', '5']), relabel]).pipe(verifyTrees({ concurrency: 1, timeoutMs: 1000 }, { verifier: testVerifier, metrics }), map(summary), toArray()),
    );
    expect(out).toEqual(['ok:good:true', 'ok:bad:false', 'ok:r:true']);
    expect(metrics.counter('verify.trees')).toBe(3);
    expect(metrics.counter('verify.invalid_trees')).toBe(1);
    expect(metrics.counter('verify.relabelled')).toBe(1);
  });

  it('times out only the slow tree in real time, the others pass', async () => {
    const slowOnSeven: Verifier = {
      ...testVerifier,
      verify: (problem, response) => (response.includes('{7}') ? new Promise(() => undefined) : testVerifier.verify(problem, response)),
    };
    const out = await firstValueFrom(
      from([tree('x', ['3']), tree('slow', ['7']), tree('y', ['4'])]).pipe(verifyTrees({ concurrency: 3, timeoutMs: 40 }, { verifier: slowOnSeven }), map(summary), toArray()),
    );
    expect(out).toEqual(['ok:x:true', 'ok:y:false', 'timeout:true:slow']);
  });

  it('turns a verifier failure into a failed Result and keeps going', async () => {
    const failing: Verifier = {
      ...testVerifier,
      verify: async (problem, response) => {
        if (response.includes('{9}')) throw new AppError('verifier', 'cannot parse', { retriable: false });
        return testVerifier.verify(problem, response);
      },
    };
    const out = await firstValueFrom(
      from([tree('bad', ['9']), tree('ok', ['3'])]).pipe(verifyTrees({ concurrency: 1, timeoutMs: 1000 }, { verifier: failing }), map(summary), toArray()),
    );
    expect(out).toEqual(['verifier:false:bad', 'ok:ok:true']);
  });

  it('ends the stream on a programmer error', async () => {
    const broken: Verifier = { ...testVerifier, verify: async () => { throw new RangeError('bug'); } };
    await expect(firstValueFrom(from([tree('a', ['3'])]).pipe(verifyTrees({ concurrency: 1, timeoutMs: 1000 }, { verifier: broken })))).rejects.toBeInstanceOf(RangeError);
  });
});

describe('verifyTrees: verdicts that ran out of time', () => {
  it('counts terminals judged "not equal" because the verifier’s bound expired (verify.verdict_timeouts)', async () => {
    const metrics = new InMemoryMetrics();
    // Answers 7 time out (as the math verifier's CAS deadline would); the others are judged as usual.
    const slowOnSevens: Verifier = {
      ...testVerifier,
      verify: async (problem, response) => (response.includes('\\boxed{7}') ? { correct: false, extracted: '7', method: 'timeout' } : testVerifier.verify(problem, response)),
    };
    const results = await firstValueFrom(from([tree('a', ['3', '7', '7']), tree('b', ['3'])]).pipe(verifyTrees({ concurrency: 2, timeoutMs: 1000 }, { verifier: slowOnSevens, metrics }), toArray()));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(metrics.counter('verify.verdict_timeouts')).toBe(2);
    expect(metrics.counter('verify.trees')).toBe(2);
  });
});

import { firstValueFrom, from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { fail, ok, type Result } from '../../../operators/common/result.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../../operators/mcts/searchConfig.js';
import { searchProblems } from '../../../operators/mcts/searchProblems.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import type { Problem } from '../../../schemas/problem.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { toyProblem, ToyPolicy, toyVerifier, type ToyCall } from '../../helpers/toyDomain.js';

const clock = (): number => 42;
const search: SearchConfig = { ...DEFAULT_SEARCH_CONFIG, k: 4, rollouts: 3, iterations: 12, maxDepth: 8, seed: 3 };
const problems = [3, 5, 7, 4, 6, 8].map((t) => toyProblem(t));

/** Yields to the event loop a call-dependent number of times, so concurrent searches interleave. */
const jitter = async (call: ToyCall): Promise<void> => {
  for (let i = 0; i < call.options.seed % 5; i += 1) await new Promise<void>((r) => setImmediate(r));
};

const run = (input: readonly Problem[], concurrency: number, policy = new ToyPolicy({ delay: jitter })) =>
  lastValueFrom(from(input).pipe(searchProblems({ search, concurrency }, { policy, verifier: toyVerifier, clock }), toArray()));

/** Trees by problem id; every result must be a success. */
const trees = (results: readonly Result<SearchTree, Problem>[]): Map<string, SearchTree> => {
  expect(results.every((r) => r.ok)).toBe(true);
  return new Map(results.flatMap((r) => (r.ok ? [[r.value.problem_id, r.value] as const] : [])));
};

/** True when the calls of each problem form one contiguous run (no interleaving). */
const grouped = (calls: readonly ToyCall[]): boolean => {
  const runs = calls.map((c) => c.problemId).filter((id, i, ids) => i === 0 || ids[i - 1] !== id);
  return new Set(runs).size === runs.length;
};

describe('searchProblems (toy policy)', () => {
  it('gives deep-equal trees with concurrency 1 and 4', async () => {
    const sequential = new ToyPolicy({ delay: jitter });
    const concurrent = new ToyPolicy({ delay: jitter });
    const one = await run(problems, 1, sequential);
    const four = await run(problems, 4, concurrent);
    expect(one).toHaveLength(problems.length);
    expect(one.map((r) => r.ok && r.value.problem_id)).toEqual(problems.map((p) => p.id)); // concurrency 1 keeps order
    expect(trees(four)).toEqual(trees(one));
    for (const t of trees(one).values()) expect(checkTreeInvariants(t)).toEqual([]);
    // The calls really interleaved under concurrency 4 (otherwise the test proves nothing).
    expect(grouped(sequential.calls)).toBe(true);
    expect(grouped(concurrent.calls)).toBe(false);
    expect(concurrent.calls).toHaveLength(sequential.calls.length);
  });

  it('gives the same tree for a problem searched alone or interleaved with others', async () => {
    const policy = new ToyPolicy({ delay: jitter });
    const alone = trees(await run([toyProblem(7)], 1));
    const mixed = trees(await run([toyProblem(2), toyProblem(9), toyProblem(7), toyProblem(5)], 4, policy));
    expect(mixed.get('toy-7')).toEqual(alone.get('toy-7'));
    expect(grouped(policy.calls)).toBe(false); // interleaved, not one after another
  });

  it('turns a policy failure into a failed Result carrying the problem, and goes on', async () => {
    const policy = new ToyPolicy({
      failOn: (c) =>
        c.problemId === 'toy-5' && c.kind === 'propose'
          ? new AppError('policy', 'HTTP 503', { retriable: true })
          : c.problemId === 'toy-7'
            ? Object.assign(new Error('bad body'), { retriable: false })
            : undefined,
    });
    const results = await run(problems, 2, policy);
    expect(results).toHaveLength(problems.length);
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => (r.ok ? null : [r.input?.id, r.error.kind, r.error.retriable]))).toEqual(
      expect.arrayContaining([
        ['toy-5', 'policy', true],
        ['toy-7', 'policy', false],
      ]),
    );
    expect(failed).toHaveLength(2);
    expect(results.filter((r) => r.ok)).toHaveLength(4);
  });

  it('marks plain errors that say retriable as retriable, others not', async () => {
    const make = (retriable?: boolean) =>
      new ToyPolicy({ failOn: () => Object.assign(new Error('timeout'), retriable === undefined ? {} : { retriable }) });
    const [a] = await run([toyProblem(3)], 1, make(true));
    const [b] = await run([toyProblem(3)], 1, make());
    expect(a?.ok === false && a.error.kind === 'policy' && a.error.retriable).toBe(true);
    expect(b?.ok === false && b.error.retriable).toBe(false);
    expect(b?.ok === false && b.error.message).toContain('timeout');
  });

  it('rethrows programmer errors as an Rx error', async () => {
    const policy = new ToyPolicy({ failOn: () => new TypeError('undefined is not a function') });
    await expect(run(problems, 2, policy)).rejects.toThrow(TypeError);
  });
});

describe('searchProblems (marbles, synchronous fake search)', () => {
  const [a, b, c] = [toyProblem(1, 'a'), toyProblem(2, 'b'), toyProblem(3, 'c')];
  const tree = (p: Problem): SearchTree => ({
    tree_id: `tree_${p.id}`,
    problem_id: p.id,
    problem: p,
    policy_version: 'fake@1',
    search_verifier: 'toy-verifier@1',
    seed: 0,
    settings: { k: 1, rollouts: 0, iterations: 1, max_depth: 1, c_puct: 1, temperature: 1, top_p: 1 },
    nodes: [{ id: 0, parent: -1, depth: 0, step: '', prior: 1, visits: 1, value_sum: 0, rollout_estimate: 0, rollouts: 0, terminal: false, expanded: false, answer: null, correct: null }],
    stats: { iterations: 0, step_samples: 0, rollouts: 0, policy_calls: 0, prompt_tokens: 0, completion_tokens: 0, duration_ms: 0 },
    created_at: 0,
  });
  const boom = new AppError('policy', 'HTTP 502', { retriable: true });
  const deps = { policy: new ToyPolicy(), verifier: toyVerifier, clock };

  const scenario = (concurrency: number, expected: string) => {
    const scheduler = new TestScheduler((actual, wanted) => expect(actual).toEqual(wanted));
    scheduler.run(({ cold, expectObservable }) => {
      const inner: Record<string, () => Observable<SearchTree>> = {
        a: () => cold('----x|', { x: tree(a) }), // slow
        b: () => cold('-y|', { y: tree(b) }), // fast
        c: () => cold('--#', undefined, boom), // fails
      };
      const source = cold('-a-b-c|', { a, b, c });
      const out = source.pipe(
        searchProblems({ search: DEFAULT_SEARCH_CONFIG, concurrency }, { ...deps, search: (p) => (inner[p.id] ?? (() => cold('#')))() }),
      );
      expectObservable(out).toBe(expected, { x: ok(tree(a)), y: ok(tree(b)), f: fail(boom, c) });
    });
  };

  it('emits in completion order with concurrency 2, failures as values', () => {
    scenario(2, '----yx-(f|)');
  });

  it('holds problems back beyond the concurrency bound', () => {
    scenario(1, '-----x-y--(f|)');
  });

  it('emits an Rx error for a programmer error in the fake search', async () => {
    const out = from([a]).pipe(
      searchProblems({ search: DEFAULT_SEARCH_CONFIG, concurrency: 1 }, { ...deps, search: () => { throw new RangeError('bad index'); } }),
    );
    await expect(firstValueFrom(out)).rejects.toThrow(RangeError);
  });
});

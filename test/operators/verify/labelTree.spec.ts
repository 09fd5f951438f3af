import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { arbSearchTree, buildTree, testVerifier } from '../../helpers/treeArbitraries.js';

const handTree = () =>
  buildTree([
    { step: 'Step A.', children: [{ step: 'So the result is \\boxed{ 3 }.' }, { step: 'So the result is \\boxed{5}.', recorded: true }] },
    { step: 'Step B.', children: [{ step: 'So the result is \\boxed{4}.', recorded: null }] },
  ]);

describe('labelTree', () => {
  it('labels every terminal with the verdict and the extracted answer', async () => {
    const tree = handTree();
    const v = await labelTree(tree, testVerifier);
    expect(v.nodes.map((n) => n.correct)).toEqual([null, null, true, false, null, false]);
    expect(v.nodes.map((n) => n.answer)).toEqual([null, null, ' 3 ', '5', null, '4']);
    expect(v.verifier).toBe('test-boxed@1.0.0');
    expect(v.verifier_config_hash).toBe('test-config');
    expect(v.valid).toBe(true);
    expect(v.num_correct_terminals).toBe(1);
    expect(v.num_incorrect_terminals).toBe(2);
    // Node 3 was recorded correct during search but is wrong; node 5 had no recorded verdict.
    expect(v.relabelled).toBe(1);
    expect(v.nodes[1]).toEqual(tree.nodes[1]);
    expect(() => VerifiedTree.parse(v)).not.toThrow();
    // The input is not mutated.
    expect(tree.nodes[3]?.correct).toBe(true);
  });

  it('flags a tree with no correct terminal instead of dropping it', async () => {
    const tree = buildTree([{ step: 'Step A.', children: [{ step: '\\boxed{4}' }] }, { step: 'No answer yet.' }]);
    const v = await labelTree(tree, testVerifier);
    expect(v.valid).toBe(false);
    expect(v.num_correct_terminals).toBe(0);
    expect(v.num_incorrect_terminals).toBe(1);
    expect(v.nodes).toHaveLength(4);
  });

  it('keeps the recorded answer when the verifier extracts none', async () => {
    const silent: Verifier = { ...testVerifier, verify: async () => ({ correct: false, extracted: null }) };
    const v = await labelTree(handTree(), silent);
    expect(v.nodes[2]?.answer).toBe(' 3 ');
    expect(v.valid).toBe(false);
  });

  it('rejects with the verifier kind, keeping its retriable flag', async () => {
    const flaky: Verifier = { ...testVerifier, verify: async () => { throw new AppError('verifier', 'engine down', { retriable: true }); } };
    await expect(labelTree(handTree(), flaky)).rejects.toMatchObject({ kind: 'verifier', retriable: true });
    const odd: Verifier = { ...testVerifier, verify: async () => { throw new Error('parse blew up'); } };
    await expect(labelTree(handTree(), odd)).rejects.toMatchObject({ kind: 'verifier', retriable: false });
  });

  it('lets programmer errors through untouched', async () => {
    const broken: Verifier = { ...testVerifier, verify: async () => { throw new TypeError('x is undefined'); } };
    await expect(labelTree(handTree(), broken)).rejects.toBeInstanceOf(TypeError);
  });

  it('property: counts, validity and relabels agree with the nodes', async () => {
    await fc.assert(
      fc.asyncProperty(arbSearchTree(), async (tree) => {
        const v = await labelTree(tree, testVerifier);
        const terminals = v.nodes.filter((n) => n.terminal);
        const truth = terminals.map((n) => (n.answer ?? '').replace(/\s+/gu, '') === '3');
        expect(terminals.map((n) => n.correct)).toEqual(truth);
        expect(v.num_correct_terminals + v.num_incorrect_terminals).toBe(terminals.length);
        expect(v.valid).toBe(v.num_correct_terminals > 0);
        const flips = tree.nodes.filter((n, i) => n.terminal && n.correct !== v.nodes[i]?.correct).length;
        expect(v.relabelled).toBe(flips);
        // Search statistics are untouched: visits and value sums still satisfy the backup invariants.
        v.nodes.forEach((n) => {
          const kids = v.nodes.filter((c) => c.parent === n.id);
          expect(n.visits).toBe(1 + kids.reduce((s, c) => s + c.visits, 0));
          expect(n.value_sum).toBeCloseTo(n.rollout_estimate + kids.reduce((s, c) => s + c.value_sum, 0), 9);
        });
        VerifiedTree.parse(v);
      }),
      { numRuns: 150 },
    );
  });
});

describe('labelTree with a synchronous verifier', () => {
  const now = (p: Parameters<Verifier['verify']>[0], r: string) => {
    const box = [...r.matchAll(/\\boxed\{([^{}]*)\}/gu)].at(-1)?.[1] ?? null;
    return box === null ? { correct: false, extracted: null } : { correct: box.replace(/\s+/gu, '') === p.answer, extracted: box };
  };
  const syncVerifier: Verifier = { ...testVerifier, verify: async (p, r) => now(p, r), verifyNow: now };

  it('gives the same labelled tree as the promise path', async () => {
    const asyncOnly: Verifier = { ...testVerifier, verify: async (p, r) => now(p, r) };
    await fc.assert(
      fc.asyncProperty(arbSearchTree(), async (tree) => {
        expect(await labelTree(tree, syncVerifier)).toStrictEqual(await labelTree(tree, asyncOnly));
      }),
      { numRuns: 100 },
    );
  });

  it('reports what verifyNow throws like a rejection of verify', async () => {
    const flaky: Verifier = {
      ...syncVerifier,
      verifyNow: () => {
        throw new AppError('verifier', 'engine down', { retriable: true });
      },
    };
    await expect(labelTree(handTree(), flaky)).rejects.toMatchObject({ kind: 'verifier', retriable: true, message: expect.stringContaining('failed on node 2 of tree tree_test') });
    const broken: Verifier = {
      ...syncVerifier,
      verifyNow: () => {
        throw new TypeError('x is undefined');
      },
    };
    await expect(labelTree(handTree(), broken)).rejects.toBeInstanceOf(TypeError);
  });
});

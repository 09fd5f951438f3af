import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adoptSearchLabels } from '../../../operators/verify/adoptSearchLabels.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { arbSearchTree, buildTree, testVerifier } from '../../helpers/treeArbitraries.js';

/** The tree as a search with `testVerifier` records it: every terminal carries that verifier's verdict. */
async function searchedWithTestVerifier(tree: SearchTree): Promise<SearchTree> {
  const nodes = await Promise.all(
    tree.nodes.map(async (n) => {
      if (!n.terminal) return n;
      const verdict = await testVerifier.verify(tree.problem, n.step);
      return { ...n, answer: verdict.extracted, correct: verdict.correct };
    }),
  );
  return { ...tree, nodes, search_verifier: 'test-boxed@1.0.0', search_verifier_config_hash: testVerifier.configHash };
}

describe('adoptSearchLabels', () => {
  it('returns exactly what labelTree would when the search used the same verifier', async () => {
    await fc.assert(
      fc.asyncProperty(arbSearchTree(), async (raw) => {
        const tree = await searchedWithTestVerifier(raw);
        expect(adoptSearchLabels(tree, testVerifier)).toStrictEqual(await labelTree(tree, testVerifier));
      }),
      { numRuns: 200 },
    );
  });

  it('declines when the recorded verifier, its config or a terminal label is not the configured one', async () => {
    const tree = await searchedWithTestVerifier(buildTree([{ step: 'Step A.', children: [{ step: '\\boxed{3}' }, { step: '\\boxed{4}' }] }]));
    expect(adoptSearchLabels(tree, testVerifier)?.num_correct_terminals).toBe(1);
    // Trees recorded before the config hash existed are labelled again.
    const { search_verifier_config_hash: _dropped, ...old } = tree;
    expect(adoptSearchLabels(old, testVerifier)).toBeNull();
    expect(adoptSearchLabels({ ...tree, search_verifier_config_hash: 'other-config' }, testVerifier)).toBeNull();
    expect(adoptSearchLabels({ ...tree, search_verifier: 'test-boxed@2.0.0' }, testVerifier)).toBeNull();
    expect(adoptSearchLabels(tree, { ...testVerifier, version: '1.0.1' })).toBeNull();
    const unjudged = { ...tree, nodes: tree.nodes.map((n) => (n.terminal ? { ...n, correct: null } : n)) };
    expect(adoptSearchLabels(unjudged, testVerifier)).toBeNull();
  });

  it('flags a tree whose adopted labels have no correct terminal', async () => {
    const tree = await searchedWithTestVerifier(buildTree([{ step: 'Step A.', children: [{ step: '\\boxed{4}' }] }]));
    expect(adoptSearchLabels(tree, testVerifier)).toMatchObject({ valid: false, num_correct_terminals: 0, num_incorrect_terminals: 1, relabelled: 0 });
  });
});

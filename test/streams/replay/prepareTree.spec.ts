import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { labelTree } from '../../../operators/verify/labelTree.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import { createNoModelPolicy } from '../../../streams/replay/noModelPolicy.js';
import { prepareTree } from '../../../streams/replay/prepareTree.js';
import { baseLinearizeConfig, parseTimeFlag, resolveLinearizeConfig } from '../../../streams/replay/replayConfig.js';
import type { DatasetManifest } from '../../../streams/sinks/manifest.js';
import { buildTree, testVerifier } from '../../helpers/treeArbitraries.js';

/** Counts verify calls; `version` lets a test pose as another verifier release. */
function counting(version = testVerifier.version): Verifier & { calls: () => number } {
  let calls = 0;
  return {
    ...testVerifier,
    version,
    configHash: version === testVerifier.version ? testVerifier.configHash : `${testVerifier.configHash}-${version}`,
    verify: (p, r) => {
      calls += 1;
      return testVerifier.verify(p, r);
    },
    calls: () => calls,
  };
}

// One correct terminal recorded as wrong during search, one wrong terminal recorded correctly.
const tree = buildTree([{ step: 'Add: \\boxed{3}', recorded: false }, { step: 'Guess: \\boxed{4}' }, { step: 'Think.', children: [{ step: 'So \\boxed{3}' }] }]);

describe('prepareTree', () => {
  it('labels search trees with the configured verifier and counts the labels that changed', async () => {
    const v = counting();
    const prepared = await prepareTree(tree, v);
    expect(prepared.reverified).toBe(true);
    expect(prepared.labelsChanged).toBe(1);
    expect(prepared.tree.valid).toBe(true);
    expect(v.calls()).toBe(3);
  });

  it('adopts the search-time labels of a search tree whose search recorded this verifier and config: no verifier call', async () => {
    const searched = await labelTree(tree, testVerifier);
    // The tree as the search records it with testVerifier: its own verdicts, its id and config hash.
    const recorded = { ...tree, nodes: searched.nodes, search_verifier: 'test-boxed@1.0.0', search_verifier_config_hash: testVerifier.configHash };
    const v = counting();
    const prepared = await prepareTree(recorded, v);
    expect(prepared).toEqual({ tree: await labelTree(recorded, testVerifier), reverified: false, labelsChanged: 0 });
    expect(v.calls()).toBe(0);
    // Another release of the verifier judges again.
    const other = counting('2.0.0');
    expect((await prepareTree(recorded, other)).reverified).toBe(true);
    expect(other.calls()).toBe(3);
  });

  it('reuses the labels of a tree verified by the same verifier (same id and config hash): no verifier call', async () => {
    const verified = await labelTree(tree, testVerifier);
    const v = counting();
    const prepared = await prepareTree(verified, v);
    expect(prepared).toEqual({ tree: verified, reverified: false, labelsChanged: 0 });
    expect(v.calls()).toBe(0);
  });

  it('re-verifies a tree verified by another version, comparing with that version\'s labels', async () => {
    const verified = await labelTree(tree, testVerifier);
    const v = counting('2.0.0');
    const prepared = await prepareTree(verified, v);
    expect(prepared.reverified).toBe(true);
    // testVerifier 2.0.0 judges like 1.0.0: nothing changed against the previous labels.
    expect(prepared.labelsChanged).toBe(0);
    expect(prepared.tree.verifier).toBe('test-boxed@2.0.0');
    expect(v.calls()).toBe(3);
  });
});

describe('replay config', () => {
  it('starts from the input manifest\'s linearizer config; later layers win', () => {
    const manifest = { configs: { linearize: { kMix: [0, 2], seed: 9, reflectionMinQ: 0.5 } } } as unknown as DatasetManifest;
    const base = baseLinearizeConfig(manifest);
    expect(resolveLinearizeConfig(base, { ablation: true }, { kMix: [1] })).toMatchObject({ kMix: [1], seed: 9, reflectionMinQ: 0.5, ablation: true });
    expect(resolveLinearizeConfig(baseLinearizeConfig(null))).toMatchObject({ kMix: [0, 1, 1, 2], seed: 0 });
    expect(() => baseLinearizeConfig({ configs: { linearize: { kMix: 'lots' } } } as unknown as DatasetManifest)).toThrow(AppError);
    expect(() => resolveLinearizeConfig({ reflectionMinQ: 2 })).toThrow(/reflectionMinQ/);
  });

  it('reads times as epoch ms or ISO dates and names the flag when it cannot', () => {
    const parse = parseTimeFlag('--from-time');
    expect(parse('1764000000000')).toBe(1_764_000_000_000);
    expect(parse('2026-11-25T03:00:00Z')).toBe(Date.UTC(2026, 10, 25, 3));
    expect(() => parse('soon')).toThrow(/--from-time must be/);
  });
});

describe('createNoModelPolicy', () => {
  it('counts every call and refuses it', async () => {
    const policy = createNoModelPolicy();
    const options = { seed: 1, temperature: 1, topP: 1 };
    await expect(policy.proposeSteps([], 4, options)).rejects.toThrow(/must not call a model/);
    await expect(policy.rollout([], 4, options)).rejects.toMatchObject({ kind: 'policy' });
    expect(policy.calls()).toBe(2);
    expect(policy.usage().calls).toBe(2);
  });
});

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { createTreeArchiveSink, readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { arbSearchTree, arbVerifiedTree } from '../../helpers/arbitraries.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-trees-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(d: string): Promise<(SearchTree | VerifiedTree)[]> {
  const out: (SearchTree | VerifiedTree)[] = [];
  for await (const t of readTreeArchive(d)) out.push(t);
  return out;
}

/** A realistic small Countdown tree: root, two steps, a wrong and a right terminal. */
function countdownTree(i: number): VerifiedTree {
  const node = (id: number, parent: number, depth: number, step: string, extra: Partial<VerifiedTree['nodes'][number]> = {}): VerifiedTree['nodes'][number] => ({
    id, parent, depth, step, prior: 0.25, visits: 4 - depth, value_sum: 1.5, rollout_estimate: 0.5, rollouts: 2, terminal: false, expanded: true, answer: null, correct: null, ...extra,
  });
  return {
    tree_id: `tree_${i}`,
    problem_id: `cd-${i}`,
    problem: { id: `cd-${i}`, domain: 'countdown', source: 'countdown-generator', question: 'Use 75, 25, 8, 3 to make 150.', answer: '150', numbers: [75, 25, 8, 3], target: 150, difficulty: 4 },
    policy_version: 'countdown-pvnet@3',
    search_verifier: 'countdown-verifier@1',
    seed: 4_000_000_000 + i,
    settings: { k: 4, rollouts: 2, iterations: 32, max_depth: 5, c_puct: 1.5, temperature: 0.8, top_p: 0.95 },
    nodes: [
      node(0, -1, 0, '', { prior: 1, rollouts: 0 }),
      node(1, 0, 1, 'Step 1: 75 × 3 = 225. Remaining: 225, 25, 8.'),
      node(2, 1, 2, 'Step 2: 225 − 25 = 200. The answer is \\boxed{200}.', { terminal: true, expanded: false, answer: '200', correct: false, rollout_estimate: 0, rollouts: 0 }),
      node(3, 0, 1, 'Step 1: 75 × 25 = 1875 ✗ too big; 75 + 75… wait, 75 × 2 = 150 \\boxed{150}', { terminal: true, expanded: false, answer: '150', correct: true, rollout_estimate: 1, rollouts: 0 }),
    ],
    stats: { iterations: 32, step_samples: 12, rollouts: 8, policy_calls: 20, prompt_tokens: 5_000_000_000, completion_tokens: 1234, duration_ms: 12.5 },
    created_at: 1_764_000_000_000 + i,
    verifier: 'countdown-verifier@1',
    verifier_config_hash: 'abcdef0123456789',
    valid: true,
    num_correct_terminals: 1,
    num_incorrect_terminals: 1,
    relabelled: 0,
  };
}

describe('tree archive sink', () => {
  it('round-trips verified trees through Arrow IPC files, in offset order across files', async () => {
    const d = join(dir, 'verified');
    const sink = createTreeArchiveSink({ dir: d, trees: 'verified' });
    const generated = fc.sample(arbVerifiedTree, { numRuns: 40, seed: 5 });
    const first = [countdownTree(0), ...generated.slice(0, 20)];
    const second = [...generated.slice(20), countdownTree(1)];
    // Written out of order: reading must still follow the offset order encoded in the names.
    const b = await sink.writeShard(second, { topic: 'astro.trees.verified.v1', partition: 0, firstOffset: 21, lastOffset: 41 });
    const a = await sink.writeShard(first, { topic: 'astro.trees.verified.v1', partition: 0, firstOffset: 0, lastOffset: 20 });
    expect(a.path).toBe('trees/astro.trees.verified.v1-p0-000000000000-000000000020.arrow');
    expect(b).toMatchObject({ kind: 'trees', rows: 21, first_offset: 21, last_offset: 41 });
    expect(a.sha256).toBe(sha256Hex(await readFile(join(d, a.path))));
    expect(await collect(d)).toEqual([...first, ...second]);
  });

  it('round-trips search trees, and an empty batch', async () => {
    const d = join(dir, 'search');
    const sink = createTreeArchiveSink({ dir: d, trees: 'search' });
    const trees = fc.sample(arbSearchTree, { numRuns: 15, seed: 9 });
    const { verifier: _v, verifier_config_hash: _h, valid: _ok, num_correct_terminals: _c, num_incorrect_terminals: _i, relabelled: _r, ...plain } = countdownTree(2);
    await sink.writeBatch([plain, ...trees], 0);
    await sink.writeBatch([], 1);
    const back = await collect(d);
    expect(back).toEqual([plain, ...trees]);
    expect(back.some((t) => 'verifier' in t)).toBe(false);
    expect((await readdir(join(d, 'trees'))).sort()).toEqual(['trees-000000000000.arrow', 'trees-000000000001.arrow']);
  });

  it('rejects a missing archive and a corrupt record with typed errors', async () => {
    await expect(collect(join(dir, 'nope'))).rejects.toMatchObject({ kind: 'config' });
    const d = join(dir, 'bad');
    const sink = createTreeArchiveSink({ dir: d, trees: 'search' });
    const { verifier: _v, verifier_config_hash: _h, valid: _ok, num_correct_terminals: _c, num_incorrect_terminals: _i, relabelled: _r, ...plain } = countdownTree(3);
    // Arrow accepts a prior of 7; the zod contract (prior ∈ [0,1]) must catch it on the way back.
    await sink.writeBatch([{ ...plain, nodes: [{ ...(plain.nodes[0] as SearchTree['nodes'][number]), prior: 7 }] }], 0);
    const error = await collect(d).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ kind: 'schema', message: expect.stringContaining('trees-000000000000.arrow row 0') });
  });

  it('ignores temp files of an interrupted write when reading, and clears them on the next write', async () => {
    const d = join(dir, 'temps');
    const sink = createTreeArchiveSink({ dir: d, trees: 'verified' });
    await sink.writeBatch([countdownTree(4)], 0);
    await writeFile(join(d, 'trees', '.trees-000000000001.arrow.dead.tmp'), 'partial');
    expect(await collect(d)).toHaveLength(1);
    // A restart an hour later: the orphan is old enough to be nobody's in-flight write.
    await createTreeArchiveSink({ dir: d, trees: 'verified', clock: () => Date.now() + 3_600_001 }).writeBatch([countdownTree(5)], 1);
    expect((await readdir(join(d, 'trees'))).sort()).toEqual(['trees-000000000000.arrow', 'trees-000000000001.arrow']);
  });
});

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { TreeSorter, type PositionedTree } from '../../../streams/replay/treeSorter.js';
import { arbSearchTree } from '../../helpers/arbitraries.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-sorter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = fc.sample(arbSearchTree, { numRuns: 1, seed: 3 })[0] as SearchTree;
// Entries: (id index, partition, offset); duplicates of an id carry different seeds so the kept one is visible.
const arbEntries = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 80 });

async function drain(entries: readonly [number, number, number][], maxInMemory: number, spill: string): Promise<{ out: PositionedTree[]; duplicates: number; spilled: boolean }> {
  const sorter = new TreeSorter({ maxInMemory, spillDir: spill });
  for (const [id, partition, offset] of entries) sorter.add({ tree: { ...base, tree_id: `t${String(id).padStart(2, '0')}`, seed: partition * 10_000 + offset }, position: [partition, offset] });
  const out: PositionedTree[] = [];
  for await (const t of sorter.sorted()) out.push(t);
  const spilled = existsSync(spill) && (await readdir(spill)).length > 0;
  sorter.close();
  return { out, duplicates: sorter.duplicates(), spilled };
}

describe('TreeSorter', () => {
  it('yields each id once, ascending, keeping the lowest source position, whatever the arrival order and memory bound', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(arbEntries, fc.integer({ min: 1, max: 10 }), async (entries, maxInMemory) => {
        run += 1;
        const spill = join(dir, `spill-${run}`);
        const { out, duplicates, spilled } = await drain(entries, maxInMemory, spill);
        const ids = out.map((t) => t.tree.tree_id);
        const distinct = [...new Set(entries.map(([id]) => `t${String(id).padStart(2, '0')}`))].sort();
        expect(ids).toEqual(distinct);
        expect(duplicates).toBe(entries.length - distinct.length);
        for (const t of out) {
          const lowest = entries
            .filter(([id]) => `t${String(id).padStart(2, '0')}` === t.tree.tree_id)
            .map(([, p, o]) => [p, o] as const)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1])[0];
          expect(t.position).toEqual(lowest);
          expect(t.tree.seed).toBe((lowest?.[0] ?? 0) * 10_000 + (lowest?.[1] ?? 0));
        }
        // The same entries reversed (another arrival order) give the same result.
        const again = await drain([...entries].reverse(), maxInMemory, `${spill}-r`);
        expect(again.out).toEqual(out);
        if (entries.length > maxInMemory) expect(spilled).toBe(true);
        // close() removes the spilled runs.
        expect(existsSync(spill)).toBe(false);
      }),
      { numRuns: 40, seed: 17 },
    );
  });
});

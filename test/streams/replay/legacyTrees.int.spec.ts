import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOf } from '../../../domains/registry.js';
import { silentLogger } from '../../../operators/common/metrics.js';
import { parseLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { checkTreeInvariants } from '../../../operators/mcts/treeInvariants.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import { archiveSource, baseLinearizeConfig, replayTrees } from '../../../streams/replay/index.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { readRows } from './fixtures.js';

// Written by the code before issue 13 (see its README): legacy backup, no settings.backup column.
const LEGACY = resolve(import.meta.dirname, '../../fixtures/legacy-run');

describe('trees recorded before the paper backup (issue 13)', () => {
  let root: string;
  let encoder: ParquetEncoder;
  const recorded: SearchTree[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'astro-legacy-'));
    encoder = ParquetEncoder.create({ workers: 1 });
    for await (const tree of readTreeArchive(LEGACY)) recorded.push(tree as SearchTree);
  });
  afterAll(async () => {
    await encoder.close();
    await rm(root, { recursive: true, force: true });
  });

  it('read back without the new settings fields, and hold the legacy invariants', () => {
    expect(recorded).toHaveLength(6);
    for (const tree of recorded) {
      expect(tree.settings.backup).toBeUndefined();
      expect(checkTreeInvariants(tree)).toEqual([]);
      // Legacy counts: the root holds far more than iterations + 1 visits.
      expect(tree.nodes[0]?.visits).toBeGreaterThan(tree.stats.iterations + 1);
    }
  });

  it('replay with their visit counts kept as recorded, and give traces without repeats', async () => {
    const out = join(root, 'replay');
    const linearize = parseLinearizeConfig({ ...baseLinearizeConfig(await readManifest(LEGACY)), kMix: [0, 1, 1, 2, 2] });
    const report = await replayTrees(archiveSource(LEGACY), { linearize, out, treesPerFile: 10, archiveTrees: true, command: 'test legacy' }, { domainOf, encoder, clock: () => 0, logger: silentLogger, version: 'test' });
    expect(report.trees_read).toBe(6);
    expect(report.failed_trees).toBe(0);
    expect(report.valid_trees).toBe(3);
    expect(report.traces).toBeGreaterThan(3);
    const replayed = new Map<string, SearchTree>();
    for await (const tree of readTreeArchive(out)) replayed.set(tree.tree_id, tree as SearchTree);
    for (const tree of recorded) {
      const again = replayed.get(tree.tree_id);
      expect(again?.nodes.map((n) => [n.visits, n.value_sum])).toEqual(tree.nodes.map((n) => [n.visits, n.value_sum]));
      expect(again?.settings.backup).toBeUndefined();
    }
    const rows = await readRows(out);
    expect(new Set(rows.map((r) => `${r.problem_id}\u0000${r.completion}`)).size).toBe(rows.length);
  });
});

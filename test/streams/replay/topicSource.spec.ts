import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { topicSource, type TopicWindow } from '../../../streams/replay/topicSource.js';
import type { SourcedTree } from '../../../streams/replay/replaySource.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { arbSearchTree } from '../../helpers/arbitraries.js';

const T0 = 1_800_000_000_000;
let groups = 0;

/** 40 trees over 4 partitions, tree i stamped T0 + 10·i; a non-tree record at the end of partition 0. */
async function seeded(): Promise<{ transport: Transport; trees: SearchTree[] }> {
  const transport = createMemoryTransport({ clock: () => T0 });
  await transport.createTopics(allTopicSpecs({ partitions: 4 }));
  const trees = fc.sample(arbSearchTree, { numRuns: 40, seed: 5 }).map((t, i) => ({ ...t, tree_id: `tree_${String(i).padStart(3, '0')}` }));
  const producer = await transport.producer();
  await producer.send(
    TREES_TOPIC,
    trees.map((t, i) => ({ key: t.tree_id, value: SearchTreeCodec.encode(t), partition: i % 4, timestamp: T0 + 10 * i })),
  );
  await producer.send(TREES_TOPIC, [{ key: 'junk', value: new TextEncoder().encode('{"not":"a tree"}'), partition: 0, timestamp: T0 + 5 }]);
  await producer.close();
  return { transport, trees };
}

async function read(transport: Transport, window: Omit<TopicWindow, 'topic' | 'groupId'>): Promise<{ ids: string[]; info: Awaited<ReturnType<ReturnType<typeof topicSource>['read']>> }> {
  const got: SourcedTree[] = [];
  const info = await topicSource({ topic: TREES_TOPIC, groupId: `replay-${(groups += 1)}`, ...window }, { transport }).read((t) => got.push(t));
  return { ids: got.map((t) => t.tree.tree_id).sort(), info };
}

describe('topicSource', () => {
  it('reads every tree that exists when it starts, counts bad records, and reports per-partition offset ranges', async () => {
    const { transport, trees } = await seeded();
    const { ids, info } = await read(transport, {});
    expect(ids).toEqual(trees.map((t) => t.tree_id).sort());
    expect(info.badRecords).toBe(1);
    expect(info.sources).toEqual([0, 1, 2, 3].map((p) => ({ topic: TREES_TOPIC, partition: p, first_offset: 0, last_offset: 9 })));
    expect(info.lineage).toMatchObject({ kind: 'topic', topic: TREES_TOPIC, from_time: null, to_time: null });
  });

  it('gives exactly the trees whose record timestamp is in [from, to]', async () => {
    const { transport, trees } = await seeded();
    const from = T0 + 10 * 7;
    const to = T0 + 10 * 23 - 1;
    const expected = trees.filter((_, i) => T0 + 10 * i >= from && T0 + 10 * i <= to).map((t) => t.tree_id);
    const { ids, info } = await read(transport, { fromTime: from, toTime: to });
    expect(ids).toEqual(expected.sort());
    expect(ids).toHaveLength(16);
    // The junk record (T0 + 5) is outside the window: not even decoded.
    expect(info.badRecords).toBe(0);
    expect(info.lineage).toMatchObject({ from_time: from, to_time: to });
  });

  it('skips records below --from-offset in every partition', async () => {
    const { transport, trees } = await seeded();
    const { ids } = await read(transport, { fromOffset: 8 });
    // Offsets 8 and 9 of each partition: trees 32..39 (tree i is offset floor(i/4) of partition i%4).
    expect(ids).toEqual(trees.slice(32).map((t) => t.tree_id).sort());
  });

  it('returns at once for an empty window and refuses topics without trees', async () => {
    const { transport } = await seeded();
    const { ids } = await read(transport, { fromOffset: 1000 });
    expect(ids).toEqual([]);
    expect(() => topicSource({ topic: 'astro.traces.v1', groupId: 'g' }, { transport })).toThrow(AppError);
  });

  it('does not include records produced after it started reading', async () => {
    const { transport, trees } = await seeded();
    const producer = await transport.producer();
    const late = { ...(trees[0] as SearchTree), tree_id: 'tree_late' };
    const got: string[] = [];
    const done = topicSource({ topic: TREES_TOPIC, groupId: 'late-check' }, { transport }).read((t) => {
      got.push(t.tree.tree_id);
    });
    await producer.send(TREES_TOPIC, [{ key: 'late', value: SearchTreeCodec.encode(late), partition: 1 }]);
    await done;
    await producer.close();
    expect(got).not.toContain('tree_late');
    expect(got).toHaveLength(40);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { domainOf } from '../../../domains/registry.js';
import { InMemoryMetrics, type Logger } from '../../../operators/common/metrics.js';
import { PROBLEMS_TOPIC, ProblemCodec } from '../../../schemas/problem.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../../../schemas/searchTree.js';
import { allTopicSpecs, problemSourceTopic, topicSpec } from '../../../schemas/topics.js';
import { parseRunConfig } from '../../../streams/cli/runConfig.js';
import { summarize } from '../../../streams/cli/summary.js';
import { topologyConfigOf } from '../../../streams/cli/topologyConfig.js';
import { parseExposition, sumOf } from '../../../streams/metrics/parseExposition.js';
import { PromMetrics } from '../../../streams/metrics/promMetrics.js';
import { createDryRunPolicy } from '../../../streams/policies/dryRunPolicy.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { startTopology, type RunningTopology, type TopologyDeps } from '../../../streams/stages/topology.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import type { Producer, Transport } from '../../../streams/transport/transport.js';
import { buildTree } from '../../helpers/treeArbitraries.js';
import { waitFor } from '../../helpers/waitFor.js';

/** A logger that keeps its warnings. */
const recordingLogger = (): Logger & { readonly warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
};

const treesIn = async (dir: string): Promise<SearchTree[]> => {
  const trees: SearchTree[] = [];
  for await (const t of readTreeArchive(dir)) trees.push(t);
  return trees;
};

describe('sink: one problem id given by two sources (in-process transport)', () => {
  let dir: string;
  let transport: Transport;
  let producer: Producer;
  let encoder: ParquetEncoder;
  let topology: RunningTopology | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'astro-dup-ids-'));
    transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 2 }));
    producer = await transport.producer();
    encoder = ParquetEncoder.create({ workers: 1 });
  });
  afterEach(async () => {
    await topology?.stop();
    topology = undefined;
    await encoder.close();
    await producer.close();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deps = (metrics: InMemoryMetrics, logger: Logger): TopologyDeps => {
    const policy = createDryRunPolicy();
    return { transport, producer, policy: () => policy, domainOf, encoder, metrics, logger, clock: Date.now };
  };
  const sendTree = (tree: SearchTree, topic: string | undefined) => producer.send(TREES_TOPIC, [{ key: tree.problem_id, value: SearchTreeCodec.encode(topic === undefined ? tree : { ...tree, problem_topic: topic }) }]);
  const config = () => topologyConfigOf(parseRunConfig({ out: 'unused', search: { iterations: 4 }, sink: { maxRecords: 100, lingerMs: 0 } }));

  it('keeps the first tree, drops the other source\'s, counts it once and logs the id with both sources; redeliveries stay silent', async () => {
    const metrics = new InMemoryMetrics();
    const logger = recordingLogger();
    topology = await startTopology({ ...config(), out: dir }, deps(metrics, logger), ['sink']);
    const first = { ...buildTree([{ step: '\\boxed{3}' }], { treeId: 'tree_a' }), created_at: 1 };
    const other = { ...first, created_at: 2 };
    const b = { ...buildTree([{ step: '\\boxed{3}' }], { treeId: 'tree_b' }), created_at: 3 };
    await sendTree(first, 'astro.problems.v1');
    await sendTree(first, 'astro.problems.v1'); // a redelivery from the same source
    await sendTree(other, 'astro.problems.mirror.v1'); // the same id from another source
    await sendTree(b, 'astro.problems.mirror.v1');
    await sendTree(other, 'astro.problems.mirror.v1'); // that one redelivered: reported once only
    await waitFor(() => metrics.counter('sink.trees.rows') === 2 && metrics.counter('sink.duplicate_problem_ids') === 1, { timeoutMs: 30_000, message: 'two trees written, one conflict' });
    await topology.stop();
    topology = undefined;

    const kept = await treesIn(dir);
    expect(kept.map((t) => t.tree_id).sort()).toEqual(['tree_a', 'tree_b']);
    // Which row wins is unchanged: the first one that arrived.
    expect(kept.find((t) => t.tree_id === 'tree_a')?.created_at).toBe(1);
    expect(metrics.counter('sink.duplicate_problem_ids')).toBe(1);
    const lines = logger.warnings.filter((w) => w.includes('came from'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`problem id ${first.problem_id}`);
    expect(lines[0]).toContain('astro.problems.v1');
    expect(lines[0]).toContain('astro.problems.mirror.v1');
    expect(summarize({ problems: 0, metrics: metrics.snapshot(), wallMs: 1, out: dir }).duplicate_problem_ids).toBe(1);
  }, 60_000);

  it('after a restart, tells the other source\'s tree apart from a redelivery by the source the trees on disk record', async () => {
    const sinkOnce = async (sendAll: () => Promise<void>, until: (m: InMemoryMetrics) => boolean): Promise<{ metrics: InMemoryMetrics; warnings: string[] }> => {
      const metrics = new InMemoryMetrics();
      const logger = recordingLogger();
      topology = await startTopology({ ...config(), out: dir }, deps(metrics, logger), ['sink']);
      await sendAll();
      await waitFor(() => until(metrics), { timeoutMs: 30_000, message: 'the sink handled every tree' });
      await topology.stop();
      topology = undefined;
      return { metrics, warnings: logger.warnings.filter((w) => w.includes('came from')) };
    };
    const recorded = { ...buildTree([{ step: '\\boxed{3}' }], { treeId: 'tree_a' }), created_at: 1 };
    // A tree from before trees recorded their source: nothing to compare a later copy with.
    const legacy = { ...buildTree([{ step: '\\boxed{3}' }], { treeId: 'tree_legacy' }), problem_id: 'legacy', created_at: 1 };
    await sinkOnce(async () => {
      await sendTree(recorded, 'astro.problems.v1');
      await sendTree(legacy, undefined);
    }, (m) => m.counter('sink.trees.rows') === 2);

    // The second process knows both ids only from the files. A redelivery from the same topic (and
    // any copy of the legacy tree) is silent; the same id from another topic is counted and logged.
    const marker = { ...buildTree([{ step: '\\boxed{3}' }], { treeId: 'tree_marker' }), problem_id: 'marker', created_at: 4 };
    const second = await sinkOnce(async () => {
      await sendTree({ ...recorded, created_at: 2 }, 'astro.problems.v1');
      await sendTree({ ...legacy, created_at: 2 }, 'astro.problems.mirror.v1');
      await sendTree({ ...recorded, created_at: 3 }, 'astro.problems.mirror.v1');
      await sendTree(marker, 'astro.problems.v1');
    }, (m) => m.counter('sink.trees.rows') === 1 && m.counter('sink.duplicate_problem_ids') === 1);
    expect(second.metrics.counter('sink.duplicate_problem_ids')).toBe(1);
    expect(second.warnings).toHaveLength(1);
    expect(second.warnings[0]).toContain(`problem id ${recorded.problem_id} came from astro.problems.v1 and again from astro.problems.mirror.v1`);
    const kept = await treesIn(dir);
    expect(kept.map((t) => [t.tree_id, t.created_at, t.problem_topic]).sort()).toEqual([
      ['tree_a', 1, 'astro.problems.v1'],
      ['tree_legacy', 1, undefined],
      ['tree_marker', 4, 'astro.problems.v1'],
    ]);
  }, 60_000);

  it('end to end: the same problems published to two problem topics are searched twice, written once, and every collision is counted and exported', async () => {
    const prom = new PromMetrics();
    const metrics = new InMemoryMetrics(prom);
    const logger = recordingLogger();
    topology = await startTopology({ ...config(), out: dir }, deps(metrics, logger), ['search', 'sink']);
    await transport.createTopics([topicSpec(problemSourceTopic('mirror'), { partitions: 2 })]);
    const problems = generateCountdownProblems({ count: 3, seed: 11, numbers: 3 });
    const records = problems.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) }));
    await producer.send(PROBLEMS_TOPIC, records);
    await producer.send(problemSourceTopic('mirror'), records);
    await waitFor(() => metrics.counter('search.trees') === 6 && metrics.counter('sink.trees.rows') + metrics.counter('sink.duplicate_problem_ids') === 6, { timeoutMs: 60_000, message: 'six trees searched, each written or counted' });
    await topology.stop();
    topology = undefined;

    const kept = await treesIn(dir);
    expect(kept.map((t) => t.problem_id).sort()).toEqual(problems.map((p) => p.id).sort());
    // Each tree names the topic its problem came from (the first source to be searched wins).
    for (const t of kept) expect([PROBLEMS_TOPIC, problemSourceTopic('mirror')]).toContain(t.problem_topic);
    expect(metrics.counter('sink.duplicate_problem_ids')).toBe(3);
    const lines = logger.warnings.filter((w) => w.includes('came from'));
    expect(lines).toHaveLength(3);
    for (const p of problems) expect(lines.filter((l) => l.includes(`problem id ${p.id} `) && l.includes(PROBLEMS_TOPIC) && l.includes(problemSourceTopic('mirror')))).toHaveLength(1);
    expect(sumOf(parseExposition(await prom.registry.metrics()), 'astro_sink_duplicate_problem_ids_total')).toBe(3);
  }, 120_000);
});

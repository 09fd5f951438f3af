import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../operators/common/metrics.js';
import { TREES_TOPIC } from '../../../schemas/searchTree.js';
import { waitForDrain } from '../../../streams/stages/drain.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { runCli, startCli } from '../../helpers/cli.js';
import { startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

const total = async (transport: Transport, topic: string): Promise<number> => [...(await transport.endOffsets(topic)).values()].reduce((a, b) => a + b, 0);

describe('a problems topic created after the search stage started (real broker)', () => {
  let kafka: TestKafka;
  let transport: Transport;

  beforeAll(async () => {
    kafka = await startTestKafka({ nodes: 1 });
    transport = createKafkaTransport({ brokers: kafka.brokers, logger: silentLogger });
    const created = await runCli(['topics', 'create', '--brokers', kafka.bootstrap]);
    expect(created.code, created.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await transport?.close();
    await kafka?.stop();
  });

  it('is subscribed by pattern and its problems are searched without a restart', async () => {
    const group = `late-${randomUUID()}`;
    const topic = `astro.problems.late${randomUUID().slice(0, 8)}.v1`;
    const search = startCli(['stage', 'search', '--brokers', kafka.bootstrap, '--group', `${group}.search`, '--iterations', '4', '--seed', '3']);
    try {
      await waitFor(() => search.output().includes('started'), { timeoutMs: 120_000, message: 'the search stage started' });
      expect(await transport.listTopics()).not.toContain(topic);
      const treesBefore = await total(transport, TREES_TOPIC);

      // The README's example: a new source publishes to its own topic while the stages run.
      const source = await runCli(['source', 'countdown', '--problems', '3', '--numbers', '3', '--seed', '11', '--topic', topic, '--brokers', kafka.bootstrap]);
      expect(source.code, source.stderr).toBe(0);
      expect(JSON.parse(source.stdout)).toMatchObject({ topic, published: 3 });

      // Searched and committed: the group has consumed the whole new topic, and one tree per problem is out.
      await waitForDrain(transport, [{ groupId: `${group}.search`, topic }], { pollMs: 250, timeoutMs: 120_000 });
      expect(await total(transport, TREES_TOPIC)).toBeGreaterThanOrEqual(treesBefore + 3);
      expect([...(await transport.committedOffsets(`${group}.search`, topic)).values()].reduce((a, b) => a + b, 0)).toBe(3);
    } finally {
      const stopped = await search.stop('SIGTERM');
      expect(stopped.code, search.output()).toBe(0);
    }
  }, 300_000);
});

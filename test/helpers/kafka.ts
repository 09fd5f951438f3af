import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, FindCoordinatorKeyTypes } from '@platformatic/kafka';
import { startLocalKafka } from '../../streams/transport/kafka/localCluster.js';
import type { LocalKafka } from '../../streams/transport/kafka/localCluster.js';

/** A broker (or 3-node cluster) for the integration tests of one file. */
export interface TestKafka {
  /** `127.0.0.1:port,...` for `createKafkaTransport({ brokers: bootstrap.split(',') })`. */
  readonly bootstrap: string;
  readonly brokers: string[];
  readonly cluster: LocalKafka;
  /** Stops every node and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts a real Kafka on free ports in a fresh temp dir. Call once per test file (`beforeAll`)
 * and share it: each test uses its own random topics and groups. If the test process dies without
 * `stop()`, an exit hook SIGKILLs the JVMs so they do not outlive the run.
 *
 * @example
 * let kafka: TestKafka;
 * beforeAll(async () => { kafka = await startTestKafka({ nodes: 1 }); });
 * afterAll(() => kafka.stop());
 */
export async function startTestKafka(options: { nodes: 1 | 3; heapMb?: number }): Promise<TestKafka> {
  const dir = mkdtempSync(join(tmpdir(), `astro-kafka-${options.nodes}n-`));
  const cluster = await startLocalKafka({
    nodes: options.nodes,
    dir,
    fresh: true,
    heapMb: options.heapMb ?? (options.nodes === 3 ? 384 : 512),
  });
  const killAll = (): void => {
    for (const n of cluster.nodes) {
      try {
        if (n.pid > 0) process.kill(n.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killAll);
  return {
    bootstrap: cluster.bootstrap,
    brokers: cluster.bootstrap.split(','),
    cluster,
    async stop() {
      process.off('exit', killAll);
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The node that coordinates every consumer group: the leader of `__consumer_offsets` partition 0
 * (the local cluster runs with one offsets partition). Killing it is the hardest broker failure
 * for consumers: every group loses its coordinator mid-session.
 */
export async function groupCoordinatorNode(kafka: TestKafka): Promise<number> {
  const admin = new Admin({ clientId: 'test-coordinator', bootstrapBrokers: kafka.brokers });
  try {
    // Clients do not see internal topics' metadata; the coordinator of any group is the leader of
    // the one __consumer_offsets partition.
    const [found] = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: ['any-group'] });
    if (found === undefined) throw new Error('no group coordinator found');
    return found.nodeId;
  } finally {
    await admin.close();
  }
}

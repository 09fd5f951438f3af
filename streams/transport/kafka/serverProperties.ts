/**
 * Pure pieces of the local Kafka recipe (shared/KAFKA-LOCAL.md): the per-node server.properties
 * and the KRaft cluster id. Kept apart from the process handling so they are unit-testable.
 */

/** Ports of one combined broker+controller node on loopback. */
export interface NodePorts {
  readonly id: number;
  /** PLAINTEXT listener clients connect to. */
  readonly port: number;
  /** CONTROLLER listener for the KRaft quorum. */
  readonly controllerPort: number;
}

/**
 * Renders `server.properties` for node `node` of a cluster made of `all` (1 or 3 nodes). A single
 * node uses replication 1 everywhere (otherwise `__consumer_offsets` is never created); a 3-node
 * cluster uses replication 3 and min ISR 2, so it survives one lost node without losing acked data.
 */
export function renderServerProperties(node: NodePorts, all: readonly NodePorts[], logDir: string): string {
  const replicated = all.length >= 3;
  const rf = replicated ? 3 : 1;
  const minIsr = replicated ? 2 : 1;
  const voters = all.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  const lines = [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=1',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=1',
    `share.coordinator.state.topic.replication.factor=${rf}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    // Default 3000: every first join of a test group would wait 3 s.
    'group.initial.rebalance.delay.ms=0',
    // Default 128 MiB per cleaner thread: too much for a 256-512 MiB heap.
    'log.cleaner.dedupe.buffer.size=2097152',
  ];
  if (replicated) {
    // Defaults 9000/2000: a killed node is fenced (and its partitions re-led) in ~4 s instead of ~9 s.
    lines.push('broker.session.timeout.ms=4000', 'broker.heartbeat.interval.ms=1000');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Turns 16 random bytes into a KRaft cluster id (base64url, no padding), or null when the result
 * contains `-`: a leading dash reads as a flag to StorageTool, so the recipe retries until none.
 */
export function clusterIdFromBytes(bytes: Uint8Array): string | null {
  if (bytes.length !== 16) throw new RangeError(`cluster id needs 16 bytes, got ${bytes.length}`);
  const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return id.includes('-') ? null : id;
}

/** Ports for `count` nodes from a base port: node i gets (base + 2(i-1), base + 2(i-1) + 1). */
export function portsFromBase(count: number, basePort: number): NodePorts[] {
  return Array.from({ length: count }, (_, i) => ({ id: i + 1, port: basePort + 2 * i, controllerPort: basePort + 2 * i + 1 }));
}

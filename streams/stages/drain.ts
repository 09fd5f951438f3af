import type { Transport } from '../transport/transport.js';

/** One edge of the topology: a group consuming a topic. */
export interface DrainEdge {
  readonly groupId: string;
  readonly topic: string;
}

/** How far each edge is behind: records produced to the topic and not yet committed by the group. */
export async function lagOf(transport: Transport, edge: DrainEdge): Promise<number> {
  const [end, committed] = await Promise.all([transport.endOffsets(edge.topic), transport.committedOffsets(edge.groupId, edge.topic)]);
  let lag = 0;
  for (const [partition, endOffset] of end) lag += Math.max(0, endOffset - (committed.get(partition) ?? 0));
  return lag;
}

/**
 * Resolves once every edge has committed everything produced to its topic. Edges are checked in
 * topological order in one pass: when an upstream group has committed all its input, all its
 * outputs are already acknowledged, so a downstream edge checked after it sees its final input.
 */
export async function waitForDrain(
  transport: Transport,
  edges: readonly DrainEdge[],
  options: { readonly pollMs?: number; readonly abort?: () => unknown } = {},
): Promise<void> {
  const pollMs = options.pollMs ?? 100;
  for (;;) {
    const failure = options.abort?.();
    if (failure !== undefined) throw failure;
    let drained = true;
    for (const edge of edges) {
      if ((await lagOf(transport, edge)) > 0) {
        drained = false;
        break;
      }
    }
    if (drained) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

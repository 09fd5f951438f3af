import { AppError, isProgrammerError } from '../../operators/common/errors.js';
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

export interface DrainOptions {
  readonly pollMs?: number;
  /** Returns a failure to stop waiting with (e.g. a stage died). */
  readonly abort?: () => unknown;
  /** Give up after this long (ms), naming the edges still behind. Default: wait forever. */
  readonly timeoutMs?: number;
}

/**
 * Resolves once every edge has committed everything produced to its topic. Edges are checked in
 * topological order in one pass: when an upstream group has committed all its input, all its
 * outputs are already acknowledged, so a downstream edge checked after it sees its final input.
 * A failed offset lookup (a broker restarting, a leader moving) counts as "not drained yet".
 */
export async function waitForDrain(transport: Transport, edges: readonly DrainEdge[], options: DrainOptions = {}): Promise<void> {
  const pollMs = options.pollMs ?? 100;
  const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  let behind = '';
  for (;;) {
    const failure = options.abort?.();
    if (failure !== undefined) throw failure;
    let drained = true;
    for (const edge of edges) {
      let lag: number;
      try {
        lag = await lagOf(transport, edge);
      } catch (error) {
        if (isProgrammerError(error)) throw error;
        behind = `${edge.groupId} on ${edge.topic}: offsets unavailable (${(error as Error).message})`;
        drained = false;
        break;
      }
      if (lag > 0) {
        behind = `${edge.groupId} is ${lag} records behind on ${edge.topic}`;
        drained = false;
        break;
      }
    }
    if (drained) return;
    if (performance.now() >= deadline) throw new AppError('timeout', `pipeline not drained within ${options.timeoutMs} ms: ${behind}`, { retriable: true });
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

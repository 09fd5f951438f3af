import { sha256Hex } from '../common/hash.js';
import type { Trace } from '../../schemas/trace.js';

/** Remembers which completions a dataset already holds for each problem. */
export interface CompletionDeduper {
  /**
   * True when the trace may be written: no other trace of its problem had this completion. The
   * same trace seen again (a retry, a redelivery: same `trace_id`) is admitted, so at-least-once
   * delivery never turns into a loss.
   */
  admit(trace: Pick<Trace, 'trace_id' | 'problem_id' | 'completion'>): boolean;
}

/**
 * Drops repeated completions across the trees of one problem (several searches of a problem, a
 * problem listed twice), which the linearizer cannot see: it only knows one tree. Keys are a
 * 96-bit hash of (problem id, completion). At most `maxEntries` are remembered (oldest forgotten
 * first, about 100 bytes each), so a long-lived stage stays bounded; `dataset compact --dedupe
 * text` is the exact pass over a whole dataset.
 */
export function createCompletionDeduper(config: { readonly maxEntries: number }): CompletionDeduper {
  // Map keeps insertion order: the first key is the oldest.
  const firstTrace = new Map<string, string>();
  return {
    admit(trace) {
      const key = sha256Hex(`${trace.problem_id}\u0000${trace.completion}`).slice(0, 24);
      const first = firstTrace.get(key);
      if (first !== undefined) return first === trace.trace_id;
      firstTrace.set(key, trace.trace_id);
      if (firstTrace.size > config.maxEntries) firstTrace.delete(firstTrace.keys().next().value as string);
      return true;
    },
  };
}

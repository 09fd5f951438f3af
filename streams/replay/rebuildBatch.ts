import { domainOf } from '../../domains/registry.js';
import type { LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { SearchTree, SearchTreeCodec } from '../../schemas/searchTree.js';
import type { Trace } from '../../schemas/trace.js';
import { VerifiedTree, VerifiedTreeCodec } from '../../schemas/verifiedTree.js';
import { compiledDecoder } from './compiledDecoder.js';
import { rebuildTree, type RebuildTreeDeps, type TreeOutcome } from './rebuildTree.js';

/** Which codec a topic's records take. */
export type TreeEncoding = 'tree' | 'verified_tree';

/** What a rebuild worker is started with (workerData). */
export interface RebuildWorkerData {
  readonly encoding: TreeEncoding;
  readonly linearize: LinearizeConfig;
  readonly keepLabelled: boolean;
}

/** Records sent to a worker: their bytes back to back; record i ends at `ends[i]`. */
export interface RecordBatch {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly ends: readonly number[];
}

/** A trace on the wire: `messages` is null when it is exactly [user: prompt, assistant: completion], rebuilt on arrival. */
export type WireTrace = Omit<Trace, 'messages'> & { messages: Trace['messages'] | null };

/** A programmer error met while rebuilding a tree: thrown by the replay when that tree's turn comes. */
export interface FatalError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** A thrown value as plain data (it may cross threads and spill files). */
export function toFatal(error: unknown): FatalError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack };
}

/** One record's result: not a tree (the codec's reason), a rebuilt tree, or a programmer error. */
export type WireOutcome =
  | { readonly ok: false; readonly reason: string }
  | { readonly ok: true; readonly tree_id: string; readonly outcome: (Omit<TreeOutcome, 'traces'> & { readonly traces: WireTrace[] }) | null; readonly fatal: FatalError | null };

/** Halves what crosses the thread boundary: prompt and completion are otherwise sent twice. */
function toWire(trace: Trace): WireTrace {
  const [user, assistant, ...rest] = trace.messages;
  const canonical =
    rest.length === 0 &&
    user?.role === 'user' &&
    user.content === trace.prompt &&
    assistant?.role === 'assistant' &&
    assistant.content === trace.completion &&
    Object.keys(user).length === 2 &&
    Object.keys(assistant).length === 2;
  // Assigned in place, so the key order of the rebuilt row is the original one.
  const wire = trace as WireTrace;
  if (canonical) wire.messages = null;
  return wire;
}

/** Undoes `toWire` (the restored messages share the prompt and completion strings). */
export function fromWire(trace: WireTrace): Trace {
  if (trace.messages === null) {
    trace.messages = [
      { role: 'user', content: trace.prompt },
      { role: 'assistant', content: trace.completion },
    ];
  }
  return trace as Trace;
}

/** One record's result: not a tree (the codec's reason), its rebuilt outcome, or the programmer error it met. */
export type RebuildResult =
  | { readonly ok: false; readonly reason: string }
  | { readonly ok: true; readonly tree_id: string; readonly outcome: TreeOutcome | null; readonly fatal: FatalError | null };

/**
 * Decodes one record with the codec's exact semantics, then labels and linearizes it with the
 * built-in domains' verifiers (or the given ones, on the replay's own thread). Runs on rebuild
 * workers and on the replay's thread: the outcome is the same wherever it runs.
 */
export function createRecordRebuilder(
  data: RebuildWorkerData,
  domains: Pick<RebuildTreeDeps, 'domainOf' | 'verifierOf'> = { domainOf },
): (bytes: Uint8Array) => Promise<RebuildResult> {
  const decode = data.encoding === 'verified_tree' ? compiledDecoder(VerifiedTree, VerifiedTreeCodec) : compiledDecoder(SearchTree, SearchTreeCodec);
  const deps: RebuildTreeDeps = { ...domains, linearize: data.linearize, keepLabelled: data.keepLabelled };
  return async (bytes) => {
    const decoded = decode(bytes);
    if (!decoded.ok) return { ok: false, reason: decoded.error.message };
    try {
      const outcome = await rebuildTree(decoded.value, deps);
      return { ok: true, tree_id: outcome.tree_id, outcome, fatal: null };
    } catch (error) {
      // Thrown by the replay when this tree's turn comes, as an in-thread rebuild would.
      return { ok: true, tree_id: decoded.value.tree_id, outcome: null, fatal: toFatal(error) };
    }
  };
}

/** The work of a rebuild worker (rebuildWorker.js): one outcome per record of the batch, in order. */
export function createBatchRebuilder(data: RebuildWorkerData): (batch: RecordBatch) => Promise<WireOutcome[]> {
  const rebuild = createRecordRebuilder(data);
  return async (batch) => {
    const out: WireOutcome[] = [];
    let start = 0;
    for (const end of batch.ends) {
      const result = await rebuild(batch.bytes.subarray(start, end));
      start = end;
      out.push(result.ok && result.outcome !== null ? { ...result, outcome: { ...result.outcome, traces: result.outcome.traces.map(toWire) } } : (result as WireOutcome));
    }
    return out;
  };
}

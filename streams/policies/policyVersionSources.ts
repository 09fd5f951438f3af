import { open, stat } from 'node:fs/promises';
import { Observable } from 'rxjs';
import { POLICY_TOPIC } from '../../schemas/policyVersion.js';
import type { Transport } from '../transport/transport.js';

/** Encoded `astro.policy.v1` records from somewhere, and how to stop reading them. */
export interface PolicyVersionSource {
  /** One JSON record per item, in publication order; from the first one ever published. */
  readonly records: Observable<Uint8Array>;
  /** Where they come from, for logs. */
  readonly label: string;
  close(): Promise<void>;
}

/**
 * Follows `versions.jsonl` (what `python -m astro_lm rl` appends every version to) by polling its
 * size: every complete line, from the start of the file, then each one appended. A line still being
 * written (no newline yet) waits for the next poll; a file that does not exist yet is waited for.
 */
export function followVersionsFile(path: string, options: { readonly pollMs?: number } = {}): PolicyVersionSource {
  const pollMs = options.pollMs ?? 500;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> = Promise.resolve();
  const records = new Observable<Uint8Array>((subscriber) => {
    let offset = 0;
    let partial = Buffer.alloc(0);
    const poll = async (): Promise<void> => {
      const size = await stat(path).then((s) => s.size, () => -1);
      if (size < offset) {
        // Truncated or replaced: a new log, read from its start.
        offset = 0;
        partial = Buffer.alloc(0);
      }
      if (size <= offset) return;
      const file = await open(path, 'r');
      try {
        const chunk = Buffer.alloc(size - offset);
        const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
        offset += bytesRead;
        partial = Buffer.concat([partial, chunk.subarray(0, bytesRead)]);
      } finally {
        await file.close();
      }
      let newline = partial.indexOf(0x0a);
      while (newline >= 0) {
        const line = partial.subarray(0, newline);
        partial = partial.subarray(newline + 1);
        if (line.toString('utf8').trim().length > 0) subscriber.next(new Uint8Array(line));
        newline = partial.indexOf(0x0a);
      }
    };
    const tick = (): void => {
      reading = poll()
        .catch((error: unknown) => subscriber.error(error))
        .finally(() => {
          if (!stopped && !subscriber.closed) timer = setTimeout(tick, pollMs);
        });
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
  return {
    records,
    label: path,
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      await reading;
    },
  };
}

/** The `astro.policy.v1` topic on a transport (Kafka, when the trainer runs elsewhere), from its beginning, in a consumer group of its own. */
export async function followPolicyTopic(transport: Transport, groupId: string): Promise<PolicyVersionSource> {
  const consumer = await transport.consumer({ groupId, topics: [POLICY_TOPIC], fromBeginning: true });
  return {
    records: new Observable<Uint8Array>((subscriber) => {
      const sub = consumer.records.subscribe({ next: (r) => subscriber.next(r.value), error: (e: unknown) => subscriber.error(e) });
      return () => sub.unsubscribe();
    }),
    label: `topic ${POLICY_TOPIC}`,
    close: () => consumer.close(),
  };
}

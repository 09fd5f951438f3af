import { open, type FileHandle } from 'node:fs/promises';
import type { DeadLetter } from '../../schemas/deadLetter.js';
import { writeErrorOf } from './atomicFile.js';

/** `OUT/dead_letters.jsonl`: every dead letter of a run, one JSON object per line, readable without a broker. */
export interface DeadLetterFile {
  readonly path: string;
  /** Appends one whole line; resolves once written. A failed append leaves the file as it was. */
  append(letter: DeadLetter): Promise<void>;
  /** Lines appended by this process. */
  appended(): number;
  /** Flushes to disk and closes (a no-op when nothing was appended). */
  close(): Promise<void>;
}

/**
 * Opens `path` for appending dead letters, lazily (no file when nothing fails). Appends are
 * serialized and each is one whole line: a write cut short (disk full) is truncated back to the
 * previous end before the `storage` error is thrown, so every line of the file parses.
 */
export function openDeadLetterFile(path: string): DeadLetterFile {
  let handle: Promise<FileHandle> | undefined;
  let end = 0;
  let count = 0;
  let chain: Promise<void> = Promise.resolve();

  const write = async (line: Uint8Array): Promise<void> => {
    handle ??= open(path, 'a').then(async (h) => {
      end = (await h.stat()).size;
      return h;
    });
    let file: FileHandle | undefined;
    try {
      file = await handle;
      let written = 0;
      while (written < line.byteLength) written += (await file.write(line, written, line.byteLength - written)).bytesWritten;
      end += line.byteLength;
      count += 1;
    } catch (error) {
      await file?.truncate(end).catch(() => undefined);
      throw writeErrorOf(path, error);
    }
  };

  return {
    path,
    append: (letter) => {
      const line = new TextEncoder().encode(`${JSON.stringify(letter)}\n`);
      const next = chain.then(() => write(line));
      // A failed append must not poison the appends queued behind it.
      chain = next.catch(() => undefined);
      return next;
    },
    appended: () => count,
    close: async () => {
      await chain;
      if (handle === undefined) return;
      const file = await handle;
      try {
        await file.sync();
      } finally {
        await file.close();
      }
    },
  };
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../operators/common/metrics.js';
import { tableToRecords, readIpcFile } from '../../schemas/arrow.js';
import { DeadLetter } from '../../schemas/deadLetter.js';
import { SearchTree } from '../../schemas/searchTree.js';
import { readTraceFile } from '../replay/readTraceFiles.js';
import { MANIFEST_FILE, readManifest } from '../sinks/manifest.js';
import { TRACES_SUBDIR } from '../sinks/traceParquetSink.js';
import { TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import type { DashboardStore } from './dashboardStore.js';

/** The file a run writes its dead letters to (`run`; stages send them to `<topic>.dlq`). */
export const DEAD_LETTERS_FILE = 'dead_letters.jsonl';

/** A dataset directory being watched. */
export interface DirWatch {
  /** Reads what changed since the last poll (new, replaced and removed files). */
  poll(): Promise<void>;
  stop(): void;
}

interface Seen {
  readonly version: string;
  readonly ids: readonly string[];
}

const versionOf = (s: { size: number; mtimeMs: number }): string => `${s.size}:${s.mtimeMs}`;

async function listing(dir: string, ext: string): Promise<Map<string, string>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out = new Map<string, string>();
  for (const name of names) {
    // Sinks write `.name.tmp` and rename: a visible file is complete.
    if (!name.endsWith(ext) || name.startsWith('.')) continue;
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s !== undefined) out.set(name, versionOf(s));
  }
  return out;
}

/**
 * Feeds `store` from a dataset directory (`trees/*.arrow`, `traces/*.parquet`, `manifest.json`,
 * `dead_letters.jsonl`), polling every `pollMs` so the dashboard follows a run while it writes.
 * Only files that are new or changed are read; records of removed files are dropped. A file that
 * cannot be read is reported in the store's read errors and retried on the next poll.
 */
export function watchRunDir(dir: string, store: DashboardStore, options: { readonly pollMs: number }, deps: { readonly logger: Logger }): DirWatch {
  const treeFiles = new Map<string, Seen>();
  const traceFiles = new Map<string, Seen>();
  let lettersVersion = '';
  // Lines of the current dead-letter file that are not dead letters: reported until the file changes.
  let letterErrors: string[] = [];
  let manifestVersion = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const sync = async (subdir: string, ext: string, seen: Map<string, Seen>, read: (path: string) => Promise<string[]>, remove: (id: string) => void, errors: string[]): Promise<void> => {
    const now = await listing(join(dir, subdir), ext);
    for (const [name, old] of seen) {
      if (now.get(name) === old.version) continue;
      for (const id of old.ids) remove(id);
      seen.delete(name);
    }
    for (const [name, version] of [...now].sort(([a], [b]) => a.localeCompare(b))) {
      if (seen.has(name)) continue;
      try {
        seen.set(name, { version, ids: await read(join(dir, subdir, name)) });
      } catch (error) {
        errors.push(`${subdir}/${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  const readTrees = async (path: string): Promise<string[]> => {
    const ids: string[] = [];
    for (const [i, record] of tableToRecords<unknown>(readIpcFile(await readFile(path))).entries()) {
      const parsed = SearchTree.safeParse(record);
      if (!parsed.success) throw new Error(`row ${i}: ${parsed.error.message.slice(0, 200)}`);
      store.addTree(parsed.data);
      ids.push(parsed.data.tree_id);
    }
    return ids;
  };

  const readTraces = async (path: string): Promise<string[]> => {
    const ids: string[] = [];
    for await (const trace of readTraceFile(path)) {
      store.addTrace(trace);
      ids.push(`${trace.tree_id}\u0000${trace.trace_id}`);
    }
    return ids;
  };

  const readLetters = async (errors: string[]): Promise<void> => {
    const path = join(dir, DEAD_LETTERS_FILE);
    const s = await stat(path).catch(() => undefined);
    const version = s === undefined ? '' : versionOf(s);
    if (version !== lettersVersion) {
      lettersVersion = version;
      letterErrors = [];
      store.resetDeadLetters();
      if (s !== undefined) await readLetterLines(path);
    }
    errors.push(...letterErrors);
  };

  const readLetterLines = async (path: string): Promise<void> => {
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let parsed: ReturnType<typeof DeadLetter.safeParse>;
      try {
        parsed = DeadLetter.safeParse(JSON.parse(line));
      } catch (error) {
        letterErrors.push(`${DEAD_LETTERS_FILE} line ${i + 1}: ${(error as Error).message}`);
        return;
      }
      if (parsed.success) store.addDeadLetter(parsed.data);
      else letterErrors.push(`${DEAD_LETTERS_FILE} line ${i + 1}: not a dead letter`);
    });
  };

  const readManifestIfChanged = async (errors: string[]): Promise<void> => {
    const s = await stat(join(dir, MANIFEST_FILE)).catch(() => undefined);
    const version = s === undefined ? '' : versionOf(s);
    if (version === manifestVersion) return;
    if (s === undefined) {
      manifestVersion = version;
      store.setManifest(null);
      return;
    }
    try {
      const m = await readManifest(dir);
      manifestVersion = version;
      store.setManifest({ command: m.command, created_at: m.created_at, counts: m.counts });
    } catch (error) {
      errors.push(`${MANIFEST_FILE}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const pollOnce = async (): Promise<void> => {
    const errors: string[] = [];
    await sync(TREES_SUBDIR, '.arrow', treeFiles, readTrees, (id) => store.removeTree(id), errors);
    await sync(TRACES_SUBDIR, '.parquet', traceFiles, readTraces, (key) => {
      const [treeId, traceId] = key.split('\u0000');
      store.removeTrace(treeId ?? '', traceId ?? '');
    }, errors);
    await readLetters(errors);
    await readManifestIfChanged(errors);
    store.setReadErrors(errors);
    if (errors.length > 0) deps.logger.warn(`dashboard: ${errors.length} file(s) of ${dir} could not be read`, { first: errors[0] });
  };

  const poll = (): Promise<void> => (running ??= pollOnce().finally(() => (running = undefined)));

  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      poll().then(loop, (error: unknown) => {
        deps.logger.error('dashboard: reading the directory failed', { error: String(error) });
        loop();
      });
    }, options.pollMs);
  };
  loop();
  return {
    poll,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

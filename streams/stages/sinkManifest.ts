import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, readManifest, sourcesFromFiles, writeManifest, type DatasetManifest, type ShardFile } from '../sinks/manifest.js';

/** Everything in a manifest except the file list and its derived sources. */
export type ManifestHeader = Omit<DatasetManifest, 'format' | 'created_at' | 'files' | 'sources'>;

/**
 * Writes `DIR/manifest.json` listing `files` plus the files an earlier sink process (or an earlier
 * life of this one) recorded, newest entry per path winning, entries whose file is gone
 * dropped. Several sink processes writing one directory each add
 * their own shards; counts are summed.
 */
export async function mergeManifestFiles(dir: string, files: readonly ShardFile[], header: ManifestHeader, clock: () => number = Date.now): Promise<DatasetManifest> {
  let previous: DatasetManifest | undefined;
  try {
    await access(join(dir, MANIFEST_FILE));
    previous = await readManifest(dir);
  } catch {
    previous = undefined;
  }
  const byPath = new Map<string, ShardFile>();
  for (const file of previous?.files ?? []) byPath.set(file.path, file);
  for (const file of files) byPath.set(file.path, file);
  const existing: ShardFile[] = [];
  for (const file of byPath.values()) {
    try {
      await access(join(dir, file.path));
      existing.push(file);
    } catch {
      // Removed by a redo that rewrote its range: not part of the dataset any more.
    }
  }
  existing.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts: Record<string, number> = { ...(previous?.counts ?? {}) };
  for (const [k, v] of Object.entries(header.counts)) counts[k] = (counts[k] ?? 0) + v;
  const manifest: DatasetManifest = {
    ...header,
    format: 'astro-dataset@1',
    created_at: clock(),
    counts,
    sources: sourcesFromFiles(existing),
    files: existing,
  };
  await writeManifest(dir, manifest);
  return manifest;
}

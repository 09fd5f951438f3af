import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, readManifest, sourcesFromFiles, writeManifest, type DatasetManifest, type ShardFile } from '../sinks/manifest.js';
import { listShardFiles } from '../sinks/rebuildManifest.js';

/** Everything in a manifest except the file list and its derived sources. */
export type ManifestHeader = Omit<DatasetManifest, 'format' | 'created_at' | 'files' | 'sources'>;

/**
 * Writes `DIR/manifest.json` listing every shard file on disk: the entries of `files` (this
 * process's writes) and of the earlier manifest are reused, files nobody listed (a sink killed
 * before its merge, another sink of the same directory) are read and added, entries whose file is
 * gone are dropped. Several sink processes writing one directory each add their counts (summed).
 */
export async function mergeManifestFiles(dir: string, files: readonly ShardFile[], header: ManifestHeader, clock: () => number = Date.now): Promise<DatasetManifest> {
  let previous: DatasetManifest | undefined;
  try {
    await access(join(dir, MANIFEST_FILE));
    previous = await readManifest(dir);
  } catch {
    previous = undefined;
  }
  const known = new Map<string, ShardFile>();
  for (const file of previous?.files ?? []) known.set(file.path, file);
  for (const file of files) known.set(file.path, file);
  const { files: existing } = await listShardFiles(dir, known);
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

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256Hex } from '../../operators/common/hash.js';
import { sha256File, sourcesFromFiles } from '../sinks/manifest.js';
import { readTreeArchive, TREES_SUBDIR } from '../sinks/treeArchiveSink.js';
import { readReplayManifest, type LineageFile } from './replayManifest.js';
import type { ReplaySource } from './replaySource.js';

/**
 * `RUN/trees` or `RUN` → `RUN` (the dataset directory `readTreeArchive` expects). Users point at
 * the archive folder itself as often as at the dataset, so both are accepted.
 */
export async function datasetDirOf(path: string): Promise<string> {
  if (basename(path) !== TREES_SUBDIR) return path;
  const nested = await stat(join(path, TREES_SUBDIR)).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return nested ? path : dirname(path);
}

/**
 * Trees archived in a dataset directory (`DIR/trees/*.arrow`, an embedded run's Arrow archive),
 * in file-name order. The lineage lists every archive file with its checksum and, when the
 * dataset has a manifest, its hash and the topic offset ranges its tree files came from.
 */
export function archiveSource(path: string): ReplaySource {
  return {
    describe: `tree archive ${path}`,
    async read(onTree) {
      const dir = await datasetDirOf(path);
      const found = await readReplayManifest(dir);
      // Archive files are checksummed before reading: the lineage names exactly the bytes replayed.
      const names = (await readdir(join(dir, TREES_SUBDIR)).catch(() => [] as string[])).filter((n) => n.endsWith('.arrow') && !n.startsWith('.')).sort();
      const files: LineageFile[] = [];
      const bytesOf = new Map<string, number>();
      for (const name of names) {
        const full = join(dir, TREES_SUBDIR, name);
        const size = (await stat(full)).size;
        files.push({ path: `${TREES_SUBDIR}/${name}`, bytes: size, sha256: await sha256File(full) });
        bytesOf.set(name, size);
      }
      const totalBytes = [...bytesOf.values()].reduce((a, b) => a + b, 0);
      const trees = [];
      for await (const tree of readTreeArchive(dir)) trees.push(tree);
      // Archive rows have no per-record size: spread the file bytes evenly for MB/s accounting.
      const each = trees.length > 0 ? totalBytes / trees.length : 0;
      trees.forEach((tree, row) => onTree({ tree, bytes: each, position: [0, row] }));
      const treeFiles = found?.manifest.files.filter((f) => f.kind === 'trees') ?? [];
      return {
        sources: sourcesFromFiles(treeFiles),
        lineage: {
          kind: 'dir',
          topic: null,
          group_id: null,
          from_offset: null,
          from_time: null,
          to_time: null,
          dir,
          files,
          source_manifest_sha256: found === null ? null : sha256Hex(found.text),
        },
        badRecords: 0,
        sourceManifest: found?.manifest ?? null,
      };
    },
  };
}

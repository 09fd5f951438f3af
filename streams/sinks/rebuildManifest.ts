import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { AppError } from '../../operators/common/errors.js';
import { sha256Hex } from '../../operators/common/hash.js';
import { readIpcFile } from '../../schemas/arrow.js';
import { parseShardFileName, writeFileAtomic } from './atomicFile.js';
import { DatasetManifest, MANIFEST_FILE, sha256File, sourcesFromFiles, type ShardFile } from './manifest.js';

/** Where each kind of shard lives in a dataset directory, and its extension. */
const SHARD_DIRS = [
  { kind: 'traces', subdir: 'traces', ext: '.parquet' },
  { kind: 'trees', subdir: 'trees', ext: '.arrow' },
] as const;

type Origin = Pick<ShardFile, 'topic' | 'partition' | 'first_offset' | 'last_offset' | 'sequence'>;
const NO_ORIGIN: Origin = { topic: null, partition: null, first_offset: null, last_offset: null, sequence: null };

/** A shard file on disk that could not be read (it is not listed). */
export interface UnreadableShard {
  readonly path: string;
  readonly reason: string;
}

export interface ShardListing {
  /** Every readable shard file on disk, by path. */
  readonly files: ShardFile[];
  readonly unreadable: UnreadableShard[];
}

/**
 * Lists every shard file under `DIR/traces/` and `DIR/trees/` (temp files excluded) as manifest
 * entries. An entry of `known` (earlier manifest, this process's writes) whose size still matches
 * is reused; any other file is read for its row count, checksum and origin (the Parquet footer's
 * `astro.shard`, else the file name). `verify` re-reads every file, trusting nothing.
 * Files under a final name are whole (they are renamed into place after fsync), so what is on disk
 * is the dataset: a killed sink's files are listed even though its manifest merge never ran.
 */
export async function listShardFiles(dir: string, known: ReadonlyMap<string, ShardFile> = new Map(), options: { readonly verify?: boolean } = {}): Promise<ShardListing> {
  const files: ShardFile[] = [];
  const unreadable: UnreadableShard[] = [];
  for (const { kind, subdir, ext } of SHARD_DIRS) {
    const names = await readdir(join(dir, subdir)).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(ext) && !n.startsWith('.')).sort()) {
      const path = `${subdir}/${name}`;
      const full = join(dir, path);
      try {
        const bytes = (await stat(full)).size;
        const entry = known.get(path);
        if (entry !== undefined && entry.kind === kind && entry.bytes === bytes && options.verify !== true) {
          files.push(entry);
          continue;
        }
        files.push(kind === 'traces' ? await describeParquet(full, path, name, bytes) : await describeArrow(full, path, name, bytes));
      } catch (error) {
        unreadable.push({ path, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return { files, unreadable };
}

async function describeParquet(full: string, path: string, name: string, bytes: number): Promise<ShardFile> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(full));
  const footer = metadata.key_value_metadata?.find((kv) => kv.key === 'astro.shard')?.value;
  let origin = parseShardFileName(name) ?? NO_ORIGIN;
  if (footer !== undefined) {
    try {
      origin = { ...NO_ORIGIN, ...(JSON.parse(footer) as Partial<Origin>) };
    } catch {
      // A footer we cannot read: the file name still says where the rows came from.
    }
  }
  return { kind: 'traces', path, rows: Number(metadata.num_rows), bytes, sha256: await sha256File(full), ...origin };
}

async function describeArrow(full: string, path: string, name: string, bytes: number): Promise<ShardFile> {
  const data = new Uint8Array(await readFile(full));
  const rows = readIpcFile(data).numRows;
  return { kind: 'trees', path, rows, bytes, sha256: sha256Hex(data), ...(parseShardFileName(name) ?? NO_ORIGIN) };
}

/** What a rebuild changed. */
export interface ManifestRebuild {
  readonly manifest: DatasetManifest;
  /** Paths listed now that the previous manifest did not list (or every path when there was none). */
  readonly added: string[];
  /** Paths the previous manifest listed that are not on disk (any more). */
  readonly dropped: string[];
  readonly unreadable: UnreadableShard[];
  /** Whether there was a readable manifest before. */
  readonly hadManifest: boolean;
  /** Whether manifest.json was (re)written. */
  readonly written: boolean;
}

/** Options of {@link rebuildManifest}. */
export interface RebuildManifestOptions {
  /** Re-read and checksum every file instead of trusting entries whose size matches. */
  readonly verify?: boolean;
  readonly clock?: () => number;
  /** Version recorded when there was no manifest to keep the header of. */
  readonly version?: string;
}

/**
 * Makes `DIR/manifest.json` list exactly the shard files on disk: keeps everything else of the
 * existing manifest (configs, counts, lineage), replaces `files` and `sources`. A missing or
 * unreadable manifest is replaced by one with an unknown header that says it was rebuilt.
 * Written only when something changed (and never into a directory without shard files or manifest). Run at every start of a sink over an existing directory
 * and by `dataset inspect --repair`, so a manifest never lists less than is there.
 */
export async function rebuildManifest(dir: string, options: RebuildManifestOptions = {}): Promise<ManifestRebuild> {
  const clock = options.clock ?? Date.now;
  const previous = await readRawManifest(dir);
  const known = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const listing = await listShardFiles(dir, known, options.verify === true ? { verify: true } : {});
  const paths = new Set(listing.files.map((f) => f.path));
  const added = listing.files.filter((f) => !known.has(f.path)).map((f) => f.path);
  const dropped = [...known.keys()].filter((p) => !paths.has(p));
  // An empty directory gets no manifest: there is no dataset to describe yet.
  const changed =
    (previous === undefined && listing.files.length > 0) ||
    added.length > 0 ||
    dropped.length > 0 ||
    listing.files.some((f) => {
      const k = known.get(f.path);
      return k === undefined || k.bytes !== f.bytes || k.sha256 !== f.sha256 || k.rows !== f.rows;
    });
  const manifest = {
    ...(previous?.raw ?? {
      format: 'astro-dataset@1',
      command: 'rebuilt from the shard files on disk (there was no readable manifest)',
      configs: {},
      config_hashes: {},
      versions: { astro_stream: options.version ?? 'unknown', policy: 'unknown', verifier: 'unknown', linearizer: 'unknown' },
      counts: {},
    }),
    created_at: previous?.raw.created_at ?? clock(),
    sources: sourcesFromFiles(listing.files),
    files: listing.files,
  };
  if (changed) await writeRawManifest(dir, manifest);
  return { manifest: DatasetManifest.parse(manifest), added, dropped, unreadable: listing.unreadable, hadManifest: previous !== undefined, written: changed };
}

// Other keys (a replay's `lineage`, fields newer versions add) are kept as they are.
const AnyManifest = DatasetManifest.passthrough();

/** The manifest as JSON with every key, or undefined when missing or unreadable. */
async function readRawManifest(dir: string): Promise<{ raw: Record<string, unknown>; files: ShardFile[] } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = AnyManifest.safeParse(JSON.parse(text));
    return parsed.success ? { raw: parsed.data as Record<string, unknown>, files: parsed.data.files } : undefined;
  } catch {
    return undefined;
  }
}

/** Validates (keeping unknown keys) and writes the manifest atomically. */
export async function writeRawManifest(dir: string, manifest: Record<string, unknown>): Promise<void> {
  const parsed = AnyManifest.safeParse(manifest);
  if (!parsed.success) throw new AppError('schema', `invalid dataset manifest: ${parsed.error.message}`);
  await writeFileAtomic(join(dir, MANIFEST_FILE), new TextEncoder().encode(`${JSON.stringify(parsed.data, null, 2)}\n`));
}

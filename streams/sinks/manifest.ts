import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../operators/common/errors.js';
import { writeFileAtomic } from './atomicFile.js';

/** File name of the manifest inside a dataset directory. */
export const MANIFEST_FILE = 'manifest.json';

const count = z.number().int().nonnegative();

/**
 * One data file of a dataset. Files written from a topic carry the (topic, partition, offset
 * range) they hold; files of an embedded run carry a flush `sequence` instead (the others null).
 */
export const ShardFile = z.object({
  kind: z.enum(['traces', 'trees']),
  /** Relative to the dataset directory, `/`-separated (e.g. `traces/astro.traces.v1-p0-...parquet`). */
  path: z.string().min(1),
  rows: count,
  bytes: count,
  /** Hex sha256 of the whole file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  topic: z.string().nullable(),
  partition: count.nullable(),
  /** Inclusive offset range of the source records. */
  first_offset: count.nullable(),
  last_offset: count.nullable(),
  sequence: count.nullable(),
});
export type ShardFile = z.infer<typeof ShardFile>;

/** A source offset range a dataset was built from (null partition/offsets for non-topic sources). */
export const DatasetSource = z.object({
  topic: z.string().min(1),
  partition: count.nullable(),
  first_offset: count.nullable(),
  last_offset: count.nullable(),
});
export type DatasetSource = z.infer<typeof DatasetSource>;

/**
 * What a dataset directory holds and how it was made: enough to rebuild it by replay and to
 * check it was not truncated or altered (DESIGN.md "Delivery guarantees").
 */
export const DatasetManifest = z.object({
  format: z.literal('astro-dataset@1'),
  /** Epoch ms (injected clock). */
  created_at: z.number(),
  /** The command line that produced the dataset. */
  command: z.string(),
  /** Configs by name (search, linearizer, verifier, ...). */
  configs: z.record(z.string(), z.unknown()),
  config_hashes: z.record(z.string(), z.string()),
  versions: z.object({
    astro_stream: z.string(),
    policy: z.string(),
    verifier: z.string(),
    linearizer: z.string(),
  }),
  /** Row and drop counts by name (traces, trees, invalid_trees, dlq, ...). */
  counts: z.record(z.string(), z.number()),
  sources: z.array(DatasetSource),
  files: z.array(ShardFile),
  /**
   * Present when the run that wrote the manifest stopped before its input was done (a signal,
   * a full disk). The listed files are whole; `counts` say how far it got. Absent = complete.
   */
  interrupted: z.object({ reason: z.string(), at: z.number() }).optional(),
});
export type DatasetManifest = z.infer<typeof DatasetManifest>;

/** Validates `manifest` and writes `DIR/manifest.json` atomically. Write it last: its presence marks a complete dataset. */
export async function writeManifest(dir: string, manifest: DatasetManifest): Promise<void> {
  const parsed = DatasetManifest.safeParse(manifest);
  if (!parsed.success) throw new AppError('schema', `invalid dataset manifest: ${parsed.error.message}`);
  await writeFileAtomic(join(dir, MANIFEST_FILE), new TextEncoder().encode(`${JSON.stringify(parsed.data, null, 2)}\n`));
}

/** Reads and validates `DIR/manifest.json`; a missing or invalid manifest is a `schema` AppError. */
export async function readManifest(dir: string): Promise<DatasetManifest> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AppError('schema', `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const parsed = DatasetManifest.safeParse(json);
  if (!parsed.success) throw new AppError('schema', `invalid dataset manifest ${path}: ${parsed.error.message}`);
  return parsed.data;
}

/** Hex sha256 of a file, streamed (files can be larger than we want in memory). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One file whose size or checksum differs from its manifest entry (or that is missing). */
export interface ManifestMismatch {
  readonly path: string;
  readonly reason: 'missing' | 'bytes' | 'sha256';
}

/** Checks every file listed in the manifest against the directory; an empty result means intact. */
export async function verifyManifestFiles(dir: string, manifest: DatasetManifest): Promise<ManifestMismatch[]> {
  const mismatches: ManifestMismatch[] = [];
  for (const file of manifest.files) {
    const full = join(dir, file.path);
    let bytes: number;
    try {
      bytes = (await stat(full)).size;
    } catch {
      mismatches.push({ path: file.path, reason: 'missing' });
      continue;
    }
    if (bytes !== file.bytes) mismatches.push({ path: file.path, reason: 'bytes' });
    else if ((await sha256File(full)) !== file.sha256) mismatches.push({ path: file.path, reason: 'sha256' });
  }
  return mismatches;
}

/** The source ranges covered by `files`: per (topic, partition), the lowest first and highest last offset. */
export function sourcesFromFiles(files: readonly ShardFile[]): DatasetSource[] {
  const ranges = new Map<string, DatasetSource>();
  for (const f of files) {
    if (f.topic === null || f.partition === null || f.first_offset === null || f.last_offset === null) continue;
    const key = `${f.topic}\u0000${f.partition}`;
    const prev = ranges.get(key);
    ranges.set(key, {
      topic: f.topic,
      partition: f.partition,
      first_offset: prev?.first_offset == null ? f.first_offset : Math.min(prev.first_offset, f.first_offset),
      last_offset: prev?.last_offset == null ? f.last_offset : Math.max(prev.last_offset, f.last_offset),
    });
  }
  return [...ranges.values()].sort((a, b) => (a.topic === b.topic ? (a.partition ?? 0) - (b.partition ?? 0) : a.topic < b.topic ? -1 : 1));
}

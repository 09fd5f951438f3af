import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../operators/common/errors.js';
import { DatasetManifest, MANIFEST_FILE } from '../sinks/manifest.js';
import { writeFileAtomic } from '../sinks/atomicFile.js';

const count = z.number().int().nonnegative();

/** One input file of a replay from a directory (a tree archive), with its checksum. */
export const LineageFile = z.object({
  path: z.string().min(1),
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type LineageFile = z.infer<typeof LineageFile>;

/**
 * Where a rebuilt dataset's trees came from, beyond `sources`: the exact topic window (or the
 * archive files and the manifest of the dataset they belong to), so the rebuild can be repeated.
 */
export const ReplayLineage = z.object({
  kind: z.enum(['topic', 'dir', 'compact']),
  /** Topic replays: the topic, the fresh consumer group and the window asked for. */
  topic: z.string().nullable(),
  group_id: z.string().nullable(),
  from_offset: count.nullable(),
  /** Epoch ms, inclusive bounds on the record timestamp. */
  from_time: z.number().nullable(),
  to_time: z.number().nullable(),
  /** Directory replays and compactions: the input dataset directory and its files. */
  dir: z.string().nullable(),
  files: z.array(LineageFile),
  /** sha256 of the input dataset's manifest.json, when it had one. */
  source_manifest_sha256: z.string().nullable(),
});
export type ReplayLineage = z.infer<typeof ReplayLineage>;

/**
 * The dataset manifest of a replayed or compacted dataset: the standard manifest plus an optional
 * `lineage` block. Readers that only know {@link DatasetManifest} still read it (zod drops the
 * extra key), so a replayed dataset is an ordinary dataset.
 */
export const ReplayManifest = DatasetManifest.extend({ lineage: ReplayLineage.optional() });
export type ReplayManifest = z.infer<typeof ReplayManifest>;

/**
 * Validates and writes `DIR/manifest.json` atomically, keeping `lineage` (the sinks'
 * `writeManifest` would strip it). Write it last: its presence marks a complete dataset.
 */
export async function writeReplayManifest(dir: string, manifest: ReplayManifest): Promise<void> {
  const parsed = ReplayManifest.safeParse(manifest);
  if (!parsed.success) throw new AppError('schema', `invalid dataset manifest: ${parsed.error.message}`);
  await writeFileAtomic(join(dir, MANIFEST_FILE), new TextEncoder().encode(`${JSON.stringify(parsed.data, null, 2)}\n`));
}

/** Reads `DIR/manifest.json` with its lineage block; null when the directory has no manifest. */
export async function readReplayManifest(dir: string): Promise<{ manifest: ReplayManifest; text: string } | null> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('schema', `${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ReplayManifest.safeParse(json);
  if (!parsed.success) throw new AppError('schema', `invalid dataset manifest ${path}: ${parsed.error.message}`);
  return { manifest: parsed.data, text };
}

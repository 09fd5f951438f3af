import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { sha256Hex } from '../../operators/common/hash.js';
import type { RolloutGroup } from '../../schemas/rolloutGroup.js';
import { writeFileAtomic } from './atomicFile.js';
import { TRL_TABLE, VERL_RL_TABLE, toTrlRows, toVerlRows } from './rlBatchLayouts.js';
import type { ParquetTableSpec } from './traceParquetSchema.js';

/** Subdirectory of the output the RL batches go to. */
export const RL_BATCHES_SUBDIR = 'rl';
export const RL_MANIFEST_FILE = 'manifest.json';

/** One file of one step in the RL manifest. */
export interface RlBatchFile {
  readonly layout: 'verl' | 'trl';
  /** Relative to the `rl/` directory. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly columns: readonly string[];
}

/** The RL bridge manifest: every step's files, and which policy versions sampled them. */
export interface RlBatchManifest {
  readonly format: 'astro-rl-batches@1';
  readonly steps: readonly { readonly step: number; readonly groups: number; readonly policy_versions: readonly string[]; readonly files: readonly RlBatchFile[] }[];
}

function encode(spec: ParquetTableSpec, rows: readonly object[]): Uint8Array {
  const columnData = spec.columns.map((name) => ({ name, data: rows.map((r) => (r as Record<string, unknown>)[name]) }));
  return new Uint8Array(parquetWriteBuffer({ schema: [...spec.schema], columnData, codec: 'UNCOMPRESSED' }));
}

/**
 * The external-trainer bridge for LLM policies: per training step, the step's rollout groups as
 * Parquet in verl's RL layout (`rl/verl/step-NNNNNN.parquet`: one row per prompt) and in a
 * TRL-style layout (`rl/trl/step-NNNNNN.parquet`: one row per completion with its advantage), each
 * written atomically, then `rl/manifest.json` rewritten to list them. Rewriting a step is
 * idempotent (same groups, same bytes).
 */
export function createRlBatchSink(options: { readonly dir: string }) {
  const root = join(options.dir, RL_BATCHES_SUBDIR);
  const manifestPath = join(root, RL_MANIFEST_FILE);
  let chain: Promise<unknown> = Promise.resolve();

  const readManifest = async (): Promise<RlBatchManifest> => {
    try {
      return JSON.parse(await readFile(manifestPath, 'utf8')) as RlBatchManifest;
    } catch {
      return { format: 'astro-rl-batches@1', steps: [] };
    }
  };

  const write = async (step: number, groups: readonly RolloutGroup[]): Promise<RlBatchManifest> => {
    const name = `step-${String(step).padStart(6, '0')}.parquet`;
    const files: RlBatchFile[] = [];
    const previous = await readManifest();
    const firstIndex = previous.steps.filter((s) => s.step < step).reduce((n, s) => n + s.groups, 0);
    for (const [layout, spec, rows] of [
      ['verl', VERL_RL_TABLE, toVerlRows(groups, firstIndex)],
      ['trl', TRL_TABLE, toTrlRows(groups)],
    ] as const) {
      const bytes = encode(spec, rows);
      await mkdir(join(root, layout), { recursive: true });
      await writeFileAtomic(join(root, layout, name), bytes);
      files.push({ layout, path: `${layout}/${name}`, rows: rows.length, bytes: bytes.byteLength, sha256: sha256Hex(bytes), columns: spec.columns });
    }
    const entry = { step, groups: groups.length, policy_versions: [...new Set(groups.map((g) => g.policy_version))].sort(), files };
    const manifest: RlBatchManifest = { format: 'astro-rl-batches@1', steps: [...previous.steps.filter((s) => s.step !== step), entry].sort((a, b) => a.step - b.step) };
    await writeFileAtomic(manifestPath, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
    return manifest;
  };

  return {
    /** Writes one training step's batch (both layouts) and updates the manifest; calls are serialized. */
    writeStep(step: number, groups: readonly RolloutGroup[]): Promise<RlBatchManifest> {
      const next = chain.then(() => write(step, groups));
      chain = next.catch(() => undefined);
      return next;
    },
  };
}

/** The sink returned by {@link createRlBatchSink}. */
export type RlBatchSink = ReturnType<typeof createRlBatchSink>;

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHash, sha256Hex } from '../../../operators/common/hash.js';
import {
  DatasetManifest,
  readManifest,
  sha256File,
  sourcesFromFiles,
  verifyManifestFiles,
  writeManifest,
  type ShardFile,
} from '../../../streams/sinks/manifest.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../../../streams/sinks/traceParquetSink.js';
import { makeTraces } from './traceFixtures.js';

let dir: string;
let encoder: ParquetEncoder;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-manifest-'));
  encoder = ParquetEncoder.create();
});
afterAll(async () => {
  await encoder.close();
  await rm(dir, { recursive: true, force: true });
});

function manifestOf(files: ShardFile[]): DatasetManifest {
  const linearizer = { name: 'astro-linearizer', k_max: 3, template: 'default' };
  return {
    format: 'astro-dataset@1',
    created_at: 1_764_000_000_000,
    command: 'astro-stream replay --from astro.trees.verified.v1 --out out/v2',
    configs: { linearizer },
    config_hashes: { linearizer: configHash(linearizer) },
    versions: { astro_stream: '0.1.0', policy: 'countdown-pvnet@3', verifier: 'countdown-verifier@1', linearizer: 'astro-linearizer@1' },
    counts: { traces: files.reduce((n, f) => n + f.rows, 0), invalid_trees: 2 },
    sources: sourcesFromFiles(files),
    files,
  };
}

describe('dataset manifest', () => {
  it('round-trips, and its checksums and sizes match the files written', async () => {
    const sink = createTraceParquetSink({ dir, encoder });
    const traces = makeTraces(90, { seed: 4 });
    const files = [
      await sink.writeShard(traces.slice(0, 30), { topic: 'astro.traces.v1', partition: 1, firstOffset: 100, lastOffset: 129 }),
      await sink.writeShard(traces.slice(30, 60), { topic: 'astro.traces.v1', partition: 0, firstOffset: 0, lastOffset: 29 }),
      await sink.writeShard(traces.slice(60), { topic: 'astro.traces.v1', partition: 1, firstOffset: 130, lastOffset: 159 }),
    ];
    const manifest = manifestOf(files);
    expect(manifest.sources).toEqual([
      { topic: 'astro.traces.v1', partition: 0, first_offset: 0, last_offset: 29 },
      { topic: 'astro.traces.v1', partition: 1, first_offset: 100, last_offset: 159 },
    ]);
    await writeManifest(dir, manifest);
    const back = await readManifest(dir);
    expect(back).toEqual(manifest);
    for (const f of back.files) {
      expect(await sha256File(join(dir, f.path))).toBe(f.sha256);
      expect(sha256Hex(await readFile(join(dir, f.path)))).toBe(f.sha256);
    }
    expect(await verifyManifestFiles(dir, back)).toEqual([]);
  });

  it('reports files that were altered or removed', async () => {
    const back = await readManifest(dir);
    const [first, second] = back.files as [ShardFile, ShardFile, ShardFile];
    const bytes = await readFile(join(dir, first.path));
    bytes[100] = (bytes[100] ?? 0) ^ 0xff; // same size, different content
    await writeFile(join(dir, first.path), bytes);
    await rm(join(dir, second.path));
    expect(await verifyManifestFiles(dir, back)).toEqual([
      { path: first.path, reason: 'sha256' },
      { path: second.path, reason: 'missing' },
    ]);
  });

  it('refuses to write or read an invalid manifest', async () => {
    const bad = { ...manifestOf([]), format: 'astro-dataset@0' } as unknown as DatasetManifest;
    await expect(writeManifest(dir, bad)).rejects.toMatchObject({ kind: 'schema' });
    const d = await mkdtemp(join(tmpdir(), 'astro-manifest-bad-'));
    try {
      await expect(readManifest(d)).rejects.toMatchObject({ kind: 'schema' });
      await writeFile(join(d, 'manifest.json'), JSON.stringify({ ...manifestOf([]), files: [{ path: 'x' }] }));
      await expect(readManifest(d)).rejects.toMatchObject({ kind: 'schema', message: expect.stringContaining('files') });
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

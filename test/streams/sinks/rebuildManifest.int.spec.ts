import { mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, verifyManifestFiles, type DatasetManifest } from '../../../streams/sinks/manifest.js';
import { listShardFiles, rebuildManifest } from '../../../streams/sinks/rebuildManifest.js';
import { generateDataset } from '../replay/fixtures.js';

let root: string;
let source: string;
let original: DatasetManifest;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'astro-rebuild-manifest-'));
  source = join(root, 'run');
  await generateDataset(source, { problems: 6, seed: 2 });
  original = await readManifest(source);
}, 180_000);
afterAll(() => rm(root, { recursive: true, force: true }));

async function copyOf(name: string): Promise<string> {
  const dir = join(root, name);
  for (const sub of ['traces', 'trees']) await mkdir(join(dir, sub), { recursive: true });
  for (const f of original.files) await writeFile(join(dir, f.path), await readFile(join(source, f.path)));
  return dir;
}

describe('listShardFiles', () => {
  it('describes every shard on disk exactly as the sink that wrote it did (rows, bytes, checksum, origin)', async () => {
    const { files, unreadable } = await listShardFiles(source, new Map(), { verify: true });
    expect(unreadable).toEqual([]);
    expect(files).toEqual(original.files);
  });
});

describe('rebuildManifest', () => {
  it('writes a manifest listing every file when there was none, and marks it rebuilt', async () => {
    const dir = await copyOf('no-manifest');
    const result = await rebuildManifest(dir, { clock: () => 5 });
    expect(result).toMatchObject({ hadManifest: false, written: true, dropped: [], unreadable: [] });
    expect(result.added.sort()).toEqual(original.files.map((f) => f.path).sort());
    const manifest = await readManifest(dir);
    expect(manifest.files).toEqual(original.files);
    expect(manifest.command).toMatch(/rebuilt from the shard files/);
    expect(await verifyManifestFiles(dir, manifest)).toEqual([]);
  });

  it('keeps everything else of an existing manifest (unknown keys too), adds unlisted files, drops missing ones', async () => {
    const dir = await copyOf('partial');
    const [missing, unlisted] = original.files;
    await unlink(join(dir, missing?.path ?? ''));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...original, lineage: { kind: 'dir' }, files: original.files.filter((f) => f !== unlisted) }));
    const result = await rebuildManifest(dir);
    expect(result).toMatchObject({ hadManifest: true, written: true, added: [unlisted?.path], dropped: [missing?.path] });
    const raw = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(raw.lineage).toEqual({ kind: 'dir' });
    expect(raw.configs).toEqual(original.configs);
    expect(raw.counts).toEqual(original.counts);
    expect(await verifyManifestFiles(dir, await readManifest(dir))).toEqual([]);
  });

  it('leaves a manifest that already lists every file untouched, and writes none into a directory without shards', async () => {
    const before = await stat(join(source, 'manifest.json'));
    expect((await rebuildManifest(source)).written).toBe(false);
    expect((await stat(join(source, 'manifest.json'))).mtimeMs).toBe(before.mtimeMs);
    const empty = join(root, 'empty');
    await mkdir(empty);
    expect((await rebuildManifest(empty)).written).toBe(false);
    await expect(stat(join(empty, 'manifest.json'))).rejects.toThrow();
  });

  it('reports a shard it cannot read instead of listing it', async () => {
    const dir = await copyOf('garbage');
    await writeFile(join(dir, 'traces', 'astro.traces.v1-p9-000000000000-000000000001.parquet'), 'not parquet');
    const result = await rebuildManifest(dir);
    expect(result.unreadable.map((u) => u.path)).toEqual(['traces/astro.traces.v1-p9-000000000000-000000000001.parquet']);
    expect((await readManifest(dir)).files).toEqual(original.files);
  });
});

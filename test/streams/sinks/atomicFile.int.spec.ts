import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { parseShardFileName, removeStaleTempFiles, shardFileName, writeErrorOf, writeFileAtomic } from '../../../streams/sinks/atomicFile.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'astro-atomic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the bytes, overwrites in place, and leaves no temp file', async () => {
    const path = join(dir, 'a.parquet');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    const big = new Uint8Array(3_000_000).map((_, i) => i % 251);
    await writeFileAtomic(path, big);
    // Buffer.equals: a deep toEqual over megabytes takes a minute.
    expect((await readFile(path)).equals(big)).toBe(true);
    expect(await readdir(dir)).toEqual(['a.parquet']);
  });

  it('never shows a partial file under the final name to a concurrent reader', async () => {
    const path = join(dir, 'b.bin');
    const versions = [new Uint8Array(2_000_000).fill(1), new Uint8Array(1_000_000).fill(2)];
    await writeFileAtomic(path, versions[0] as Uint8Array);
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const seen = await readFile(path);
        // Either whole version, never a mix or a truncation.
        expect([2_000_000, 1_000_000]).toContain(seen.byteLength);
        expect(seen.every((b) => b === seen[0])).toBe(true);
        reads++;
      }
    })();
    for (let i = 0; i < 6; i++) await writeFileAtomic(path, versions[i % 2] as Uint8Array);
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
  });

  it('fails as a sink error without leaving a temp file when the directory is not writable', async () => {
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    try {
      // Root ignores permission bits; a missing directory fails for every user.
      const target = process.getuid?.() === 0 ? join(locked, 'missing', 'c.bin') : join(locked, 'c.bin');
      const error = await writeFileAtomic(target, new Uint8Array([1])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ kind: 'sink' });
      expect(await readdir(locked)).toEqual([]);
    } finally {
      await chmod(locked, 0o700);
    }
  });

  it('removeStaleTempFiles clears only old temp files of interrupted writes', async () => {
    const d = join(dir, 'stale');
    await mkdir(d);
    await writeFile(join(d, '.x.parquet.1234.tmp'), 'partial');
    await writeFile(join(d, 'x.parquet'), 'whole');
    await writeFile(join(d, '.hidden'), 'not ours');
    // Fresh temp files may belong to another live writer of the same directory: kept.
    expect(await removeStaleTempFiles(d)).toBe(0);
    expect(await readdir(d)).toContain('.x.parquet.1234.tmp');
    expect(await removeStaleTempFiles(d, { now: () => Date.now() + 2 * 3_600_000 })).toBe(1);
    expect((await readdir(d)).sort()).toEqual(['.hidden', 'x.parquet']);
    expect(await removeStaleTempFiles(join(dir, 'does-not-exist'))).toBe(0);
  });

  it('removeStaleTempFiles removes a dead writer\'s temp file at once, keeps a live writer\'s, and removes all with olderThanMs 0', async () => {
    const d = join(dir, 'owners');
    await mkdir(d);
    const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    const dead = `.a.parquet.${host}-999999999.1111.tmp`;
    const live = `.b.parquet.${host}-${process.pid}.2222.tmp`;
    const foreign = '.c.parquet.otherhost-1.3333.tmp';
    for (const name of [dead, live, foreign]) await writeFile(join(d, name), 'partial');
    expect(await removeStaleTempFiles(d)).toBe(1);
    expect((await readdir(d)).sort()).toEqual([live, foreign].sort());
    expect(await removeStaleTempFiles(d, { olderThanMs: 0 })).toBe(2);
    expect(await readdir(d)).toEqual([]);
  });
});

describe('writeErrorOf', () => {
  it('makes a full, read-only or forbidden disk a storage error (the process stops), anything else a sink error', () => {
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });
    expect(writeErrorOf('/d/f', errno('ENOSPC'))).toMatchObject({ kind: 'storage', message: 'cannot write /d/f: no space left on device (ENOSPC)' });
    expect(writeErrorOf('/d/f', errno('EROFS'))).toMatchObject({ kind: 'storage', message: 'cannot write /d/f: read-only file system (EROFS)' });
    expect(writeErrorOf('/d/f', errno('EDQUOT'))).toMatchObject({ kind: 'storage' });
    expect(writeErrorOf('/d/f', errno('ENOENT'))).toMatchObject({ kind: 'sink' });
  });
});

describe('parseShardFileName', () => {
  it('reads back the origin a shard or sequence name records', () => {
    expect(parseShardFileName(shardFileName('astro.traces.v1', 3, 10, 41, 'parquet'))).toEqual({ topic: 'astro.traces.v1', partition: 3, first_offset: 10, last_offset: 41, sequence: null });
    expect(parseShardFileName('traces-000000000007.parquet')).toEqual({ topic: null, partition: null, first_offset: null, last_offset: null, sequence: 7 });
    expect(parseShardFileName('part-0.parquet')).toBeUndefined();
  });
});

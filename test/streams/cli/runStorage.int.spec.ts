import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetter } from '../../../schemas/deadLetter.js';
import { readManifest } from '../../../streams/sinks/manifest.js';
import { runCli } from '../../helpers/cli.js';
import { expectConsistent } from '../../helpers/manifest.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { inMountNamespace } from '../../helpers/smallFs.js';

// Real file systems in a private mount namespace: a tmpfs that fills up, one mounted read-only.
// (A read-only directory made with chmod does not stop root, and root is who runs CI here.)
const root = mkdtempSync(join(tmpdir(), 'astro-run-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const settings = '--problems 100 --numbers 4 --iterations 16 --seed 5';
const read = (path: string): string => readFileSync(path, 'utf8');

describe('run on a disk that fills up', () => {
  it('stops with one clear line (no dead letters, no stack), leaves a consistent dataset and manifest, and --resume finishes it once there is room', async () => {
    const env = { MNT: join(root, 'mnt-full'), OUT: join(root, 'full') };
    mkdirSync(env.MNT);
    mkdirSync(env.OUT);
    // 512 KiB: room for the first shards of a dataset of about 1 MB, not for all of it.
    const result = await inMountNamespace(
      `mount -t tmpfs -o size=512k tmpfs "$MNT"
       rc=0; astro run ${settings} --out "$MNT/ds" > "$OUT/run.out" 2> "$OUT/run.err" || rc=$?; echo $rc > "$OUT/run.rc"
       cp -a "$MNT/ds" "$OUT/stopped"
       mount -o remount,size=16m "$MNT"
       rc=0; astro run ${settings} --out "$MNT/ds" --resume > "$OUT/resume.out" 2> "$OUT/resume.err" || rc=$?; echo $rc > "$OUT/resume.rc"
       cp -a "$MNT/ds" "$OUT/resumed"`,
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const stderr = read(join(env.OUT, 'run.err'));
    expect(read(join(env.OUT, 'run.rc')).trim(), stderr).toBe('1');
    const last = stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^astro-stream: storage error: cannot write .*\/ds\/(traces|trees)\/.*: no space left on device \(ENOSPC\)$/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toMatch(/sent to DLQ/);
    expect(readdirSync(join(env.OUT, 'stopped'))).not.toContain('dead_letters.jsonl');
    const stopped = join(env.OUT, 'stopped');
    const manifest = await readManifest(stopped);
    expect(manifest.interrupted?.reason).toMatch(/ENOSPC/);
    expect(manifest.files.length).toBeGreaterThan(0);
    await expectConsistent(stopped);

    expect(read(join(env.OUT, 'resume.rc')).trim(), read(join(env.OUT, 'resume.err'))).toBe('0');
    const resumed = join(env.OUT, 'resumed');
    expect((await readManifest(resumed)).interrupted).toBeUndefined();
    await expectConsistent(resumed);
    // Nothing lost, nothing twice: the same traces as one run on a roomy disk.
    const whole = join(root, 'whole');
    expect((await runCli(['run', ...settings.split(' '), '--out', whole], { timeoutMs: 300_000 })).code).toBe(0);
    const traces = (dir: string) => duckdbRows(`SELECT trace_id, completion FROM read_parquet('${dir}/traces/*.parquet') ORDER BY trace_id`);
    expect(await traces(resumed)).toEqual(await traces(whole));
  }, 600_000);

  it('appends dead letters as whole lines only, even when the disk fills in the middle of one', async () => {
    const env = { MNT: join(root, 'mnt-dlq'), OUT: join(root, 'dlq') };
    mkdirSync(env.MNT);
    mkdirSync(env.OUT);
    // 3,000 rows that are not JSON, 700 bytes each: their dead letters need ~3 MB, the disk has 1 MB.
    const file = join(env.OUT, 'bad.jsonl');
    writeFileSync(file, Array.from({ length: 3000 }, (_, i) => `not json ${i} ${'x'.repeat(688)}`).join('\n'));
    const result = await inMountNamespace(
      `mount -t tmpfs -o size=1m tmpfs "$MNT"
       rc=0; astro run --policy dry-run --file "$OUT/bad.jsonl" --question q --answer a --out "$MNT/ds" > "$OUT/run.out" 2> "$OUT/run.err" || rc=$?; echo $rc > "$OUT/run.rc"
       cp -a "$MNT/ds" "$OUT/ds"`,
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const stderr = read(join(env.OUT, 'run.err'));
    expect(read(join(env.OUT, 'run.rc')).trim(), stderr).toBe('1');
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^astro-stream: storage error: cannot write .*dead_letters\.jsonl: no space left on device \(ENOSPC\)$/);
    const text = read(join(env.OUT, 'ds', 'dead_letters.jsonl'));
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.length).toBeLessThan(3000);
    lines.forEach((line, i) => expect(DeadLetter.parse(JSON.parse(line)).source_offset).toBe(i + 1));
  }, 300_000);
});

describe('run into a read-only file system', () => {
  it('refuses before any search, naming the directory and the cause (exit 2)', async () => {
    const env = { MNT: join(root, 'mnt-ro'), OUT: join(root, 'ro') };
    mkdirSync(env.MNT);
    mkdirSync(env.OUT);
    const result = await inMountNamespace(
      `mount -t tmpfs -o size=1m tmpfs "$MNT"
       mkdir "$MNT/ds"
       mount -o remount,ro "$MNT"
       rc=0; astro run --problems 2 --out "$MNT/ds" > "$OUT/a.out" 2> "$OUT/a.err" || rc=$?; echo $rc > "$OUT/a.rc"
       rc=0; astro run --problems 2 --out "$MNT/new/deeper" > "$OUT/b.out" 2> "$OUT/b.err" || rc=$?; echo $rc > "$OUT/b.rc"`,
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(read(join(env.OUT, 'a.rc')).trim()).toBe('2');
    expect(read(join(env.OUT, 'a.err')).trim()).toMatch(/^astro-stream: config error: --out .*\/ds is not writable: read-only file system \(EROFS\)$/);
    expect(read(join(env.OUT, 'a.out'))).toBe('');
    expect(read(join(env.OUT, 'b.rc')).trim()).toBe('2');
    // Not the misleading "ENOENT ... mkdir" of mkdir -p: the ancestor that cannot be written, and why.
    expect(read(join(env.OUT, 'b.err')).trim()).toMatch(/^astro-stream: config error: --out .*\/new\/deeper cannot be created: cannot write .*mnt-ro: read-only file system \(EROFS\)$/);
  }, 120_000);
});

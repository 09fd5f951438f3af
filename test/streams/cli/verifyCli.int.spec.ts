import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../../helpers/cli.js';
import { testTempDir } from '../../helpers/tempDir.js';

describe('astro-stream verify (the built CLI)', () => {
  it('exits 2 with one clear line for no arguments and for a missing --pairs file', async () => {
    const none = await runCli(['verify']);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toEqual(['astro-stream: config error: verify: give --gold and --pred, or --pairs FILE']);
    const missing = await runCli(['verify', '--pairs', join(tmpdir(), 'no-such-pairs.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot read --pairs file .*no-such-pairs\.jsonl: ENOENT/);
  });

  it('stops quietly when its reader goes away (`verify --pairs f | head -3`)', async () => {
    const dir = testTempDir('verify-epipe-');
    const input = join(dir, 'pairs.jsonl');
    writeFileSync(input, '{"gold": "1", "pred": "1"}\n'.repeat(5000));
    const result = await new Promise<{ code: number | null; stderr: string; lines: number }>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `"${process.execPath}" "${CLI}" verify --pairs "${input}" | head -3`], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr, lines: stdout.trim().split('\n').length }));
    });
    expect(result.lines).toBe(3);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
  });

  it('judges pairs a CAS must decide, prints no library noise, and exits on its own', async () => {
    const dir = testTempDir('verify-cas-');
    const input = join(dir, 'pairs.jsonl');
    const pairs = [
      { gold: '-2', pred: '\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}' },
      { gold: 'r_{0}', pred: '2' },
      { gold: '(r+5)(r+5)', pred: '(r+5)^2' },
      { gold: '3', pred: '(99!)!' },
      { gold: '\\begin{pmatrix}1&2&3\\\\4&5&6\\\\7&8&9\\end{pmatrix}', pred: '3' },
    ];
    writeFileSync(input, pairs.map((p) => JSON.stringify(p)).join('\n'));
    const r = await runCli(['verify', '--pairs', input]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual(['verify: 5 lines, 1 correct, 0 malformed']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { correct: boolean; method: string });
    expect(lines.map((l) => l.correct)).toEqual([false, false, true, false, false]);
    expect(lines.every((l) => typeof l.method === 'string' && l.method.length > 0)).toBe(true);
    expect(lines[3]?.method).toBe('guard');
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifyCommand, verifyPair } from '../../../streams/cli/commands/verify.js';
import { testTempDir } from '../../helpers/tempDir.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function captureStdout(): string[] {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return out;
}

describe('verifyPair', () => {
  it('extracts from whole solutions and reports normalized forms, method, verifier and config hash', async () => {
    const v = await verifyPair('Thus \\boxed{\\dfrac{1}{2}}.', 'The final answer is $0.5$.');
    expect(v).toMatchObject({ correct: true, gold_extracted: '\\dfrac{1}{2}', pred_extracted: '0.5', gold_normalized: '\\frac{1}{2}', pred_normalized: '0.5', method: 'numeric', verifier: 'math@2.0.0' });
    expect(v.config_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await verifyPair('5', '')).toMatchObject({ correct: false, method: 'no-answer', pred_extracted: null });
  });
});

describe('astro-stream verify', () => {
  it('--gold/--pred prints one JSON verdict with its method', async () => {
    const out = captureStdout();
    await createVerifyCommand().parseAsync(['--gold', '(1, 2)', '--pred', '\\left(1,2\\right)'], { from: 'user' });
    expect(JSON.parse(out.join(''))).toMatchObject({ correct: true, method: 'numeric' });
    const out2 = captureStdout();
    await createVerifyCommand().parseAsync(['--gold', '(1, 2)', '--pred', '(2, 1)'], { from: 'user' });
    expect((JSON.parse(out2.join('')) as { correct: boolean }).correct).toBe(false);
  });

  it('--pairs FILE --out FILE writes one line per input in order, passes extra fields, reports malformed lines', async () => {
    captureStdout();
    const dir = testTempDir('verify-cli-');
    const input = join(dir, 'pairs.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(
      input,
      [
        '{"id": 1, "gold": "\\\\frac{1}{2}", "pred": "0.5"}',
        '{"id": 2, "gold": "3", "pred": "\\\\boxed{4}"}',
        'not json',
        '{"id": 4, "gold": "3"}',
        '',
        '{"id": 6, "gold": "#### 1,000", "pred": 1000, "tag": "gsm"}',
      ].join('\n'),
    );
    await createVerifyCommand().parseAsync(['--pairs', input, '--out', output], { from: 'user' });
    const lines = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ id: 1, correct: true, gold_normalized: '\\frac{1}{2}', pred_normalized: '0.5', method: 'numeric' });
    expect(lines[1]).toMatchObject({ id: 2, correct: false, pred_extracted: '4' });
    expect(lines[2]).toMatchObject({ line: 3 });
    expect(String(lines[2]?.['error'])).toMatch(/^line 3: invalid JSON/);
    expect(lines[3]).toMatchObject({ line: 4, error: 'line 4: missing or non-string "pred"' });
    expect(lines[4]).toMatchObject({ id: 6, tag: 'gsm', correct: true, gold_extracted: '1,000' });
  });

  it('--pairs without --out writes to stdout', async () => {
    const out = captureStdout();
    const dir = testTempDir('verify-cli-');
    const input = join(dir, 'pairs.jsonl');
    writeFileSync(input, '{"gold": "x=5", "pred": "5"}\n{"gold": "2", "pred": "-2"}\n');
    await createVerifyCommand().parseAsync(['--pairs', input], { from: 'user' });
    expect(out.join('').trim().split('\n').map((l) => (JSON.parse(l) as { correct: boolean }).correct)).toEqual([true, false]);
  });

  it('refuses a missing file and missing arguments as config errors', async () => {
    captureStdout();
    await expect(createVerifyCommand().parseAsync(['--pairs', join(tmpdir(), 'no-such-pairs.jsonl')], { from: 'user' })).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/cannot read --pairs file .*ENOENT/) as unknown });
    await expect(createVerifyCommand().parseAsync(['--gold', '1'], { from: 'user' })).rejects.toMatchObject({ kind: 'config', message: 'verify: give --gold and --pred, or --pairs FILE' });
  });
});

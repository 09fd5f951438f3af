import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter } from '../../../schemas/deadLetter.js';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import type { RunSummary } from '../../../streams/cli/summary.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';

const root = mkdtempSync(join(tmpdir(), 'astro-run-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const row = (q: string, a: string, n: number): string => JSON.stringify({ q, a, n });
const readLetters = (out: string): DeadLetter[] =>
  readFileSync(join(out, 'dead_letters.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => DeadLetter.parse(JSON.parse(l)));

describe('run on a custom problem file with bad, oversized and conflicting rows', () => {
  const file = join(root, 'custom.jsonl');
  const out = join(root, 'custom-out');
  const notJson = '{"q": "What is 1+'; // cut short
  // A valid row whose problem is larger than a record of the problems topic (16 MiB) may be.
  const huge = row(`What is ${'1+'.repeat(9_000_000)}1?`, '9000001', 90);
  let result: CliResult;
  let summary: RunSummary;

  beforeAll(async () => {
    writeFileSync(
      file,
      [row('What is 2+3?', '5', 1), notJson, row('What is 4+4?', '8', 2), huge, row('What is 6+1?', '7', 3), row('What is 2+3?', '5', 1), row('What is 9-9?', '0', 2), row('What is 3*3?', '9', 4)].join('\n') + '\n',
    );
    result = await runCli(['run', '--policy', 'dry-run', '--file', file, '--question', 'q', '--answer', 'a', '--id', 'n', '--source-name', 'mine', '--problems', '10', '--iterations', '4', '--out', out, '--json'], { timeoutMs: 170_000 });
    summary = JSON.parse(result.stdout) as RunSummary;
  }, 180_000);

  it('goes on past every bad row and exits 3, the summary saying how many were dead-lettered and why', () => {
    expect(result.code, result.stderr).toBe(3);
    expect(summary.problems).toBe(4);
    expect(summary.trees).toBe(4);
    expect(summary.dead_lettered).toBe(3);
    expect(summary.duplicate_rows).toBe(1);
    expect(summary.dead_letters.map((g) => `${g.stage} ${g.kind} ${g.count}`).sort()).toEqual(['source decode 1', 'source duplicate 1', 'source too_large 1']);
    expect(summary.dead_letters.find((g) => g.kind === 'duplicate')?.reason).toMatch(/line 7: problem id .* was already read from .*line 3 with different content/);
    const text = result.stderr + result.stdout;
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('writes each dead letter whole, with the original bytes of its row', () => {
    const letters = readLetters(out);
    expect(letters).toHaveLength(3);
    const byKind = new Map(letters.map((l) => [l.error_kind, l]));
    expect(Buffer.from(byKind.get('decode')?.value_base64 ?? '', 'base64').toString()).toBe(notJson);
    const tooLarge = byKind.get('too_large');
    expect(tooLarge?.value_bytes).toBe(Buffer.byteLength(huge));
    expect(tooLarge?.reason).toMatch(/line 4: the problem is \d+ bytes, over the \d+ bytes a record of astro.problems.v1 may have/);
    expect(Buffer.from(tooLarge?.value_base64 ?? '', 'base64').toString()).toBe(huge);
    expect(Buffer.from(byKind.get('duplicate')?.value_base64 ?? '', 'base64').toString()).toBe(row('What is 9-9?', '0', 2));
  });

  it('labels rows with --source-name and keeps the fields the flags named', async () => {
    const rows = await duckdbRows(`SELECT DISTINCT source, problem_json FROM read_parquet('${out}/traces/*.parquet')`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.source).toBe('mine');
      expect(['What is 2+3?', 'What is 4+4?', 'What is 6+1?', 'What is 3*3?']).toContain((JSON.parse(String(r.problem_json)) as { question: string }).question);
    }
    const manifest = await readManifest(out);
    expect(await verifyManifestFiles(out, manifest)).toEqual([]);
    expect(manifest.counts['dead_lettered']).toBe(3);
    expect(manifest.interrupted).toBeUndefined();
  });
});

describe('run refuses what it cannot do before spending any work (exit 2, one line)', () => {
  it('says a missing problem file is missing', async () => {
    const out = join(root, 'never-1');
    const result = await runCli(['run', '--source', 'jsonl', '--file', '/missing.jsonl', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('astro-stream: config error: problem file /missing.jsonl does not exist');
    expect(existsSync(out)).toBe(false);
  }, 180_000);

  it('names the domain and the policies that can serve it when the policy cannot', async () => {
    const file = join(root, 'math.jsonl');
    writeFileSync(file, `${row('What is 2+3?', '5', 1)}\n`);
    const out = join(root, 'never-2');
    const result = await runCli(['run', '--file', file, '--question', 'q', '--answer', 'a', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the onnx policy searches countdown problems only, and these problems are math: use --policy openai or --policy dry-run/);
    expect(existsSync(out)).toBe(false);
  }, 180_000);

  it('asks for field names when it cannot tell them', async () => {
    const file = join(root, 'unknown.jsonl');
    writeFileSync(file, `${row('What is 2+3?', '5', 1)}\n`);
    const result = await runCli(['run', '--policy', 'dry-run', '--file', file, '--out', join(root, 'never-3')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --preset .*or --question and --answer\/--solution/);
  }, 180_000);
});

describe('exit codes of a run whose problems fail', () => {
  let server: ReturnType<typeof createServer>;
  let baseUrl: string;
  beforeAll(async () => {
    // A server that answers every request with an HTML page, as a misconfigured proxy does.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Welcome to nginx!</body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('exits 3, not 0, when a server answering HTML dead-letters every problem, and the summary says why', async () => {
    const out = join(root, 'html');
    const result = await runCli(['run', '--policy', 'openai', '--base-url', baseUrl, '--model', 'm', '--attempts', '1', '--problems', '2', '--numbers', '3', '--out', out]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/dead-lettered\s+2/);
    expect(result.stdout).toMatch(/\s2 search policy: /);
    expect(readLetters(out)).toHaveLength(2);
  }, 120_000);

  it('exits 0 when every problem produced a tree', async () => {
    const result = await runCli(['run', '--problems', '2', '--numbers', '3', '--iterations', '4', '--out', join(root, 'ok'), '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as RunSummary).dead_letters).toEqual([]);
  }, 120_000);
});

/**
 * Problem-file reading benchmark: the bounded JSONL reader plus the admission gate (`source` and
 * `run` since issue 12: lines held only up to a limit, original bytes kept for dead letters, ids
 * checked for conflicting content) against what `source jsonl` did before (node:readline, then
 * JSON.parse, the field mapping and the record encoding), on the same generated file. Rounds
 * alternate the two; the ratio is of medians, CPU time (user + system, which other load on the
 * shared cores moves less than wall time) and wall time both reported.
 *
 * usage: npm run build && node dist/bench/sourceRows.js [rows=200000] [rounds=5]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ProblemCodec } from '../schemas/problem.js';
import { createProblemAdmission } from '../streams/sources/admitProblems.js';
import { rowToProblem, type ProblemFieldMapping } from '../streams/sources/problemMapping.js';
import { readJsonlRows } from '../streams/sources/sourceRows.js';

const MAPPING: ProblemFieldMapping = { source: 'bench', question: 'question', answer: 'answer', id: 'idx' };

/** The reader `source jsonl` used before issue 12, with the encoding every published row paid. */
async function baseline(path: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    if (line.trim().length === 0) continue;
    const r = rowToProblem(JSON.parse(line), MAPPING, 'row');
    if (r.ok && ProblemCodec.encode(r.value).byteLength > 0) n += 1;
  }
  return n;
}

async function gated(path: string): Promise<number> {
  const admission = createProblemAdmission({ topic: 'astro.problems.v1' }, { clock: Date.now });
  let n = 0;
  for await (const item of readJsonlRows(path, MAPPING)) if (admission.admit(item).kind === 'problem') n += 1;
  return n;
}

async function timed(f: () => Promise<number>): Promise<{ rows: number; cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const rows = await f();
  const used = process.cpuUsage(cpu);
  return { rows, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 200_000);
  const rounds = Number(process.argv[3] ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'astro-bench-source-'));
  const path = join(dir, 'rows.jsonl');
  try {
    // GSM8K-sized rows (~220 bytes): a question, an answer, an own id.
    const lines = Array.from({ length: rows }, (_, i) => JSON.stringify({ idx: i, question: `Natalia sold clips to ${i} of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?`, answer: String(i + Math.floor(i / 2)) }));
    await writeFile(path, `${lines.join('\n')}\n`);
    const results: Record<'baseline' | 'gated', { cpuMs: number[]; wallMs: number[] }> = { baseline: { cpuMs: [], wallMs: [] }, gated: { cpuMs: [], wallMs: [] } };
    for (let round = 0; round < rounds; round++) {
      for (const [name, f] of [['baseline', baseline], ['gated', gated]] as const) {
        const r = await timed(() => f(path));
        if (r.rows !== rows) throw new Error(`${name} read ${r.rows} of ${rows} rows`);
        results[name].cpuMs.push(r.cpuMs);
        results[name].wallMs.push(r.wallMs);
      }
    }
    const summary = {
      rows,
      rounds,
      baseline_cpu_ms: median(results.baseline.cpuMs),
      gated_cpu_ms: median(results.gated.cpuMs),
      cpu_ratio: median(results.gated.cpuMs) / median(results.baseline.cpuMs),
      baseline_rows_per_s: rows / (median(results.baseline.wallMs) / 1000),
      gated_rows_per_s: rows / (median(results.gated.wallMs) / 1000),
      wall_ratio: median(results.gated.wallMs) / median(results.baseline.wallMs),
      all: results,
    };
    process.stdout.write(`${JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * Parquet sink benchmark: our trace sink (hyparquet-writer on a worker thread, atomic fsynced
 * files) against pyarrow writing the same rows with the same codec and batch size, plus the
 * event-loop lag the stage's thread sees while the worker encodes (and, for contrast, while
 * encoding inline on the main thread).
 *
 * usage: npm run build && node dist/bench/parquetSink.js [rows=20000] [batchRows=5000] [completionBytes=3000]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import type { Trace } from '../schemas/trace.js';
import { ParquetEncoder } from '../streams/sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../streams/sinks/traceParquetSink.js';
import { TRACE_PARQUET_TABLE } from '../streams/sinks/traceParquetSchema.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Countdown-like traces: step text with reflections and backtracks, ~completionBytes each. */
export function makeTraces(n: number, completionBytes: number): Trace[] {
  const rand = prng(42);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  return Array.from({ length: n }, (_, i) => {
    const numbers = Array.from({ length: int(3, 6) }, () => int(1, 100));
    const target = int(10, 999);
    const prompt = `Using the numbers [${numbers.join(', ')}], create an equation that equals ${target}. Each number may be used at most once. Put the final answer in \\boxed{}.`;
    const steps: string[] = [];
    let backtracks = 0;
    let reflections = 0;
    for (let s = 1, size = 0; size < completionBytes; s++, size = steps.reduce((n, x) => n + x.length + 2, 0)) {
      const a = int(1, 100);
      const b = int(1, 100);
      steps.push(`Step ${s}: ${a} × ${b} = ${a * b}. Remaining: ${numbers.slice(0, 3).join(', ')}, ${a * b}.`);
      if (rand() < 0.25) {
        reflections++;
        steps.push(`Wait, ${a * b} does not reach ${target}: ${a * b} − ${target} = ${a * b - target} ≠ 0.`);
        if (rand() < 0.6) {
          backtracks++;
          steps.push(`Let's go back to Step ${Math.max(1, s - 1)} and try a different combination.`);
        }
      }
    }
    steps.push(`Therefore the answer is \\boxed{${target}}.`);
    const completion = steps.join('\n\n');
    const problem = { id: `cd-${i}`, domain: 'countdown', source: 'countdown-generator', question: prompt, answer: String(target), numbers, target };
    return {
      trace_id: `trace_${i.toString(16).padStart(24, '0')}`,
      tree_id: `tree_${(i >> 1).toString(16).padStart(24, '0')}`,
      problem_id: problem.id,
      domain: 'countdown',
      source: 'countdown-generator',
      problem_json: JSON.stringify(problem),
      prompt,
      completion,
      messages: [
        { role: 'user' as const, content: prompt },
        { role: 'assistant' as const, content: completion },
      ],
      answer: String(target),
      correct: true,
      variant: (['search', 'direct', 'direct_ablation'] as const)[i % 3] ?? 'search',
      k: Math.min(backtracks, 3),
      num_backtracks: backtracks,
      num_reflections: reflections,
      node_path: Array.from({ length: int(2, 12) }, () => int(0, 400)),
      policy_version: 'countdown-pvnet@3',
      linearizer: 'astro-linearizer@1',
      linearizer_config_hash: 'a1b2c3d4e5f60718',
      verifier: 'countdown-verifier@1',
      created_at: 1_764_000_000_000 + i,
    };
  });
}

interface Lag {
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Runs `fn` while sampling event-loop delay every 10 ms; returns its duration and the lag seen. */
async function withLag(fn: () => Promise<number>): Promise<{ seconds: number; bytes: number; lag: Lag }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  const bytes = await fn();
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  return { seconds, bytes, lag: { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 } };
}

function batches<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

function pyarrowScript(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // dist/bench/ when compiled, bench/ when run from source.
  const candidates = [join(here, 'parquet_pyarrow.py'), join(here, '..', '..', 'bench', 'parquet_pyarrow.py')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`parquet_pyarrow.py not found near ${here}`);
  return found;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  const batchRows = Number(process.argv[3] ?? 5_000);
  const completionBytes = Number(process.argv[4] ?? 3_000);
  const rows = makeTraces(n, completionBytes);
  const textMb = rows.reduce((s, r) => s + r.completion.length + r.prompt.length * 2 + r.messages.reduce((m, x) => m + x.content.length, 0) + r.problem_json.length, 0) / 1e6;
  const dir = await mkdtemp(join(tmpdir(), 'astro-bench-parquet-'));
  try {
    const encoder = ParquetEncoder.create({ workers: 1 });
    const sink = createTraceParquetSink({ dir: join(dir, 'ours'), encoder });
    // One warm-up shard: worker start and JIT are not what a long-running stage pays per batch.
    await sink.writeBatch(rows.slice(0, Math.min(500, n)), 999_999);
    const ours = await withLag(async () => {
      let bytes = 0;
      let seq = 0;
      for (const batch of batches(rows, batchRows)) bytes += (await sink.writeBatch(batch, seq++)).bytes;
      return bytes;
    });
    await encoder.close();

    // Contrast: the same encoding inline on the main thread (what the worker spares the stage).
    const inline = await withLag(async () => {
      let bytes = 0;
      for (const batch of batches(rows, batchRows)) {
        const writer = new ByteWriter();
        const columnData = TRACE_PARQUET_TABLE.columns.map((name) => ({ name, data: batch.map((r) => r[name as keyof Trace]) as unknown[] }));
        parquetWrite({ writer, schema: [...TRACE_PARQUET_TABLE.schema], columnData: columnData as never, rowGroupSize: 10_000 });
        bytes += writer.offset;
        // Yield between batches as a stage would, so timers get their (late) turn.
        await new Promise((r) => setImmediate(r));
      }
      return bytes;
    });

    const jsonPath = join(dir, 'rows.json');
    await writeFile(jsonPath, JSON.stringify(rows));
    const py = JSON.parse(execFileSync('python3', [pyarrowScript(), jsonPath, join(dir, 'pyarrow'), 'SNAPPY', String(batchRows)], { encoding: 'utf8' })) as {
      rows: number;
      bytes: number;
      write_s: number;
      build_s: number;
    };

    const rate = (seconds: number): string => `${Math.round(n / seconds).toLocaleString('en-US')}`;
    const mbps = (bytes: number, seconds: number): string => (bytes / 1e6 / seconds).toFixed(1);
    const lines = [
      `rows: ${n}, batch: ${batchRows} rows/file, completion ≈ ${completionBytes} B, input text ≈ ${textMb.toFixed(1)} MB, codec SNAPPY, node ${process.version}`,
      '',
      '| writer | rows/s | text MB/s in | file MB/s out | file MB | event-loop lag p99 / max (ms) |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      `| astro sink (worker encode + fsync + rename) | ${rate(ours.seconds)} | ${(textMb / ours.seconds).toFixed(1)} | ${mbps(ours.bytes, ours.seconds)} | ${(ours.bytes / 1e6).toFixed(1)} | ${ours.lag.p99Ms.toFixed(1)} / ${ours.lag.maxMs.toFixed(1)} |`,
      `| hyparquet-writer inline on main thread (contrast) | ${rate(inline.seconds)} | ${(textMb / inline.seconds).toFixed(1)} | ${mbps(inline.bytes, inline.seconds)} | ${(inline.bytes / 1e6).toFixed(1)} | ${inline.lag.p99Ms.toFixed(1)} / ${inline.lag.maxMs.toFixed(1)} |`,
      `| pyarrow ${execFileSync('python3', ['-c', 'import pyarrow; print(pyarrow.__version__)'], { encoding: 'utf8' }).trim()} pq.write_table (write only) | ${rate(py.write_s)} | ${(textMb / py.write_s).toFixed(1)} | ${mbps(py.bytes, py.write_s)} | ${(py.bytes / 1e6).toFixed(1)} | n/a |`,
      `| pyarrow Table.from_pylist + write_table | ${rate(py.write_s + py.build_s)} | ${(textMb / (py.write_s + py.build_s)).toFixed(1)} | ${mbps(py.bytes, py.write_s + py.build_s)} | ${(py.bytes / 1e6).toFixed(1)} | n/a |`,
      '',
      `ratio astro sink / pyarrow write-only: ${(py.write_s / ours.seconds).toFixed(2)} (target ≥ 0.3)`,
      `ratio astro sink / pyarrow build+write: ${((py.write_s + py.build_s) / ours.seconds).toFixed(2)}`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Run only as the entry script, so the row generator can be imported by profiling scripts.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

/**
 * Parquet sink benchmark: our trace sink (hand-written PLAIN pages and snappy on a worker thread,
 * atomic fsynced files) against pyarrow writing the same rows with the same codec and batch size,
 * and against the maintained writers in the same rounds: hyparquet-writer with its own codecs,
 * parquet-wasm (the Rust arrow/parquet crates in WebAssembly) and DuckDB's writer
 * (@duckdb/node-api). Plus the event-loop lag the stage's thread sees while the worker encodes,
 * and the snappy codec alone (ours vs hyparquet-writer's) on the same trace text.
 *
 * usage: npm run build && node dist/bench/parquetSink.js [rows=20000] [batchRows=5000] [completionBytes=3000] [rounds=3]
 *        node dist/bench/parquetSink.js snappy [rows=10000] [rounds=7]   (the snappy codecs alone)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableToIPC } from 'apache-arrow';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { snappyCompress as hyparquetSnappy } from 'hyparquet-writer/src/snappy.js';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet as wasmWriteParquet } from 'parquet-wasm';
import { recordsToTable } from '../schemas/arrow.js';
import { TraceArrow } from '../schemas/trace.js';
import { snappyCompress as astroSnappy } from '../streams/sinks/snappyCompress.js';
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

interface PyResult {
  readonly rows: number;
  readonly bytes: number;
  readonly write_s: number;
  readonly build_s: number;
}

interface Run {
  readonly seconds: number;
  readonly bytes: number;
  readonly lag: Lag;
}

/** Our sink over all rows: `inFlight` shards at a time, on `workers` encoder threads. */
async function runSink(rows: readonly Trace[], dir: string, batchRows: number, workers: number, inFlight: number): Promise<Run> {
  const encoder = ParquetEncoder.create({ workers });
  try {
    const sink = createTraceParquetSink({ dir, encoder });
    // Warm-up: worker start and JIT are not what a long-running stage pays per batch. One full
    // batch per worker: with a 500-row warm-up the first measured file still ran ~1.5x slower
    // (snappy and the page writer not yet optimized, writer buffers still growing).
    for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: workers }, (_, i) => sink.writeBatch(rows.slice(0, batchRows), 999_000 + i)));
    const parts = batches(rows, batchRows);
    return await withLag(async () => {
      let bytes = 0;
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < parts.length) {
          const seq = next++;
          // Read the result before adding: `bytes += await …` would lose updates between lanes.
          const written = await sink.writeBatch(parts[seq] as Trace[], seq);
          bytes += written.bytes;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return bytes;
    });
  } finally {
    await encoder.close();
  }
}

/** The encoder alone (packing, worker encode, sha256), no file I/O: what compares with pyarrow's write of in-memory tables to the page cache. */
async function runEncoder(rows: readonly Trace[], batchRows: number): Promise<Run> {
  const encoder = ParquetEncoder.create({ workers: 1 });
  try {
    for (let k = 0; k < 2; k++) await encoder.encode('traces', rows.slice(0, batchRows));
    const parts = batches(rows, batchRows);
    return await withLag(async () => {
      let bytes = 0;
      for (const part of parts) bytes += (await encoder.encode('traces', part)).byteLength;
      return bytes;
    });
  } finally {
    await encoder.close();
  }
}

/** hyparquet-writer's own writer (its PLAIN pages, dictionary trials and snappy), inline: encode time only. */
async function runHyparquet(rows: readonly Trace[], batchRows: number): Promise<Run> {
  return withLag(async () => {
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
}

/** parquet-wasm: rows → Arrow (apache-arrow builders) → IPC stream (`build`), then the Rust writer in wasm (`write`). */
async function runParquetWasm(rows: readonly Trace[], batchRows: number): Promise<{ build: number; write: number; bytes: number }> {
  let build = 0;
  let write = 0;
  let bytes = 0;
  for (const batch of batches(rows, batchRows)) {
    const t0 = performance.now();
    const ipc = tableToIPC(recordsToTable(TraceArrow, batch), 'stream');
    const t1 = performance.now();
    const props = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setMaxRowGroupSize(10_000).build();
    const file = wasmWriteParquet(WasmTable.fromIPCStream(ipc), props);
    write += performance.now() - t1;
    build += t1 - t0;
    bytes += file.byteLength;
  }
  return { build: build / 1000, write: write / 1000, bytes };
}

/** DuckDB: the rows JSON read into a table per batch (`build`), then `COPY … (FORMAT parquet, COMPRESSION snappy)` (`write`). */
async function runDuckdb(jsonlPaths: readonly string[], dir: string): Promise<{ build: number; write: number; bytes: number }> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  let build = 0;
  let write = 0;
  let bytes = 0;
  try {
    for (const [i, path] of jsonlPaths.entries()) {
      const t0 = performance.now();
      await connection.run(`CREATE OR REPLACE TABLE batch AS SELECT * FROM read_json('${path}', format = 'newline_delimited')`);
      const t1 = performance.now();
      const out = join(dir, `part-${i}.parquet`);
      await connection.run(`COPY batch TO '${out}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 10000)`);
      write += performance.now() - t1;
      build += t1 - t0;
      bytes += (await import('node:fs')).statSync(out).size;
    }
  } finally {
    connection.closeSync();
  }
  return { build: build / 1000, write: write / 1000, bytes };
}

/**
 * Snappy alone on the trace text, in 1 MiB pages: MB of input per CPU second (process CPU time,
 * so other processes' load on the shared machine counts less than in wall time), the two codecs
 * alternating round by round, best of `rounds` each after one warm-up.
 */
export function snappyRates(rows: readonly Trace[], rounds: number): { astro: number; hyparquet: number; ratio: number; mb: number } {
  const text = new TextEncoder().encode(rows.map((r) => r.completion).join(''));
  const pages: Uint8Array[] = [];
  for (let i = 0; i < text.length; i += 1 << 20) pages.push(text.subarray(i, Math.min(text.length, i + (1 << 20))));
  const cpuSeconds = (compress: (page: Uint8Array) => Uint8Array): number => {
    const t0 = process.cpuUsage();
    let out = 0;
    for (const page of pages) out += compress(page).byteLength;
    if (out === 0) throw new Error('empty output');
    const used = process.cpuUsage(t0);
    return (used.user + used.system) / 1e6;
  };
  const best = { astro: Infinity, hyparquet: Infinity };
  for (let r = 0; r <= rounds; r++) {
    const a = cpuSeconds(astroSnappy);
    const h = cpuSeconds(hyparquetSnappy);
    if (r === 0) continue;
    best.astro = Math.min(best.astro, a);
    best.hyparquet = Math.min(best.hyparquet, h);
  }
  const mb = text.length / 1e6;
  return { astro: mb / best.astro, hyparquet: mb / best.hyparquet, ratio: best.hyparquet / best.astro, mb };
}

/**
 * Runs the benchmark and prints a Markdown table (what bench/results/parquet.md records).
 * `args`: [rows=20000, batchRows=5000, completionBytes=3000, rounds=3].
 */
export async function runParquetSinkBench(args: readonly string[] = []): Promise<void> {
  const n = Number(args[0] ?? 20_000);
  const batchRows = Number(args[1] ?? 5_000);
  const completionBytes = Number(args[2] ?? 3_000);
  const rounds = Number(args[3] ?? 3);
  const rows = makeTraces(n, completionBytes);
  const textMb = rows.reduce((s, r) => s + r.completion.length + r.prompt.length * 2 + r.messages.reduce((m, x) => m + x.content.length, 0) + r.problem_json.length, 0) / 1e6;
  const dir = await mkdtemp(join(tmpdir(), 'astro-bench-parquet-'));
  try {
    const jsonPath = join(dir, 'rows.json');
    await writeFile(jsonPath, JSON.stringify(rows));
    // The machine is shared: interleave the contenders round by round and keep each one's best
    // time, so a burst of load elsewhere does not land on one side only. Lag is the worst seen.
    const best = { enc: [] as Run[], w1: [] as Run[], w1p: [] as Run[], w2: [] as Run[], py: [] as PyResult[], hyp: [] as Run[], wasm: [] as { build: number; write: number; bytes: number }[], duck: [] as { build: number; write: number; bytes: number }[] };
    const jsonlPaths: string[] = [];
    for (const [i, batch] of batches(rows, batchRows).entries()) {
      const path = join(dir, `batch-${i}.jsonl`);
      await writeFile(path, batch.map((row) => JSON.stringify({ ...row, created_at: new Date(row.created_at).toISOString() })).join('\n'));
      jsonlPaths.push(path);
    }
    for (let r = 0; r < rounds; r++) {
      best.hyp.push(await runHyparquet(rows, batchRows));
      best.wasm.push(await runParquetWasm(rows, batchRows));
      best.duck.push(await runDuckdb(jsonlPaths, await mkdtemp(join(dir, `duck-${r}-`))));
      best.enc.push(await runEncoder(rows, batchRows));
      best.w1.push(await runSink(rows, join(dir, `w1-${r}`), batchRows, 1, 1));
      best.w1p.push(await runSink(rows, join(dir, `w1p-${r}`), batchRows, 1, 2));
      best.w2.push(await runSink(rows, join(dir, `w2-${r}`), batchRows, 2, 2));
      best.py.push(JSON.parse(execFileSync('python3', [pyarrowScript(), jsonPath, join(dir, `py-${r}`), 'SNAPPY', String(batchRows)], { encoding: 'utf8' })) as PyResult);
      await rm(join(dir, `w1-${r}`), { recursive: true, force: true });
      await rm(join(dir, `w1p-${r}`), { recursive: true, force: true });
      await rm(join(dir, `w2-${r}`), { recursive: true, force: true });
      await rm(join(dir, `py-${r}`), { recursive: true, force: true });
    }
    const pick = (runs: Run[]): Run => {
      const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      return { ...fastest, lag: { p99Ms: Math.max(...runs.map((x) => x.lag.p99Ms)), maxMs: Math.max(...runs.map((x) => x.lag.maxMs)) } };
    };
    const inline = pick(best.hyp);
    const wasmWrite = Math.min(...best.wasm.map((x) => x.write));
    const wasmBoth = Math.min(...best.wasm.map((x) => x.write + x.build));
    const duckWrite = Math.min(...best.duck.map((x) => x.write));
    const duckBoth = Math.min(...best.duck.map((x) => x.write + x.build));
    const snappy = snappyRates(rows.slice(0, batchRows * 2), rounds);

    // Calibration: the lag an idle event loop sees on this (shared) machine over the same time.
    const idle = await withLag(async () => {
      await new Promise((r) => setTimeout(r, Math.min(...best.w1.map((x) => x.seconds)) * 1000));
      return 0;
    });

    const enc = pick(best.enc);
    const w1 = pick(best.w1);
    const w1p = pick(best.w1p);
    const w2 = pick(best.w2);
    const pyWrite = Math.min(...best.py.map((p) => p.write_s));
    const pyBoth = Math.min(...best.py.map((p) => p.write_s + p.build_s));
    const pyBytes = (best.py[0] as PyResult).bytes;
    const rate = (seconds: number): string => `${Math.round(n / seconds).toLocaleString('en-US')}`;
    const row = (name: string, seconds: number, bytes: number, lag: string): string =>
      `| ${name} | ${rate(seconds)} | ${(textMb / seconds).toFixed(1)} | ${(bytes / 1e6 / seconds).toFixed(1)} | ${(bytes / 1e6).toFixed(1)} | ${lag} |`;
    const lagText = (l: Lag): string => `${l.p99Ms.toFixed(1)} / ${l.maxMs.toFixed(1)}`;
    const pyVersion = execFileSync('python3', ['-c', 'import pyarrow; print(pyarrow.__version__)'], { encoding: 'utf8' }).trim();
    const lines = [
      `rows: ${n}, batch: ${batchRows} rows/file, completion ≈ ${completionBytes} B, input text ≈ ${textMb.toFixed(1)} MB, codec SNAPPY, best of ${rounds} interleaved rounds, node ${process.version}, pyarrow ${pyVersion}`,
      '',
      '| writer | rows/s | text MB/s in | file MB/s out | file MB | event-loop lag p99 / max (ms) |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      row('astro encoder alone, 1 worker (pack + encode + sha256, no file I/O)', enc.seconds, enc.bytes, lagText(enc.lag)),
      row('astro sink, 1 worker (encode + sha256 + fsync + rename)', w1.seconds, w1.bytes, lagText(w1.lag)),
      row('astro sink, 1 worker, 2 shards in flight (posting/fsync overlap encoding)', w1p.seconds, w1p.bytes, lagText(w1p.lag)),
      row('astro sink, 2 workers, 2 shards in flight', w2.seconds, w2.bytes, lagText(w2.lag)),
      row('hyparquet-writer 0.17 with its own codecs, inline on the main thread', inline.seconds, inline.bytes, lagText(inline.lag)),
      row('parquet-wasm 0.8 writeParquet (write only: Arrow IPC → file)', wasmWrite, best.wasm[0]!.bytes, 'blocks the thread it runs on'),
      row('parquet-wasm 0.8 rows → Arrow → IPC + writeParquet', wasmBoth, best.wasm[0]!.bytes, 'blocks the thread it runs on'),
      row('DuckDB 1.5 COPY … TO parquet (write only)', duckWrite, best.duck[0]!.bytes, 'native threads'),
      row('DuckDB 1.5 read_json + COPY … TO parquet', duckBoth, best.duck[0]!.bytes, 'native threads'),
      `| idle event loop, same duration (machine noise) | | | | | ${lagText(idle.lag)} |`,
      row('pyarrow pq.write_table (write only)', pyWrite, pyBytes, 'n/a'),
      row('pyarrow Table.from_pylist + pq.write_table', pyBoth, pyBytes, 'n/a'),
      '',
      `ratio astro encoder alone / pyarrow write-only: ${(pyWrite / enc.seconds).toFixed(2)}`,
      `ratio astro sink (1 worker) / pyarrow write-only: ${(pyWrite / w1.seconds).toFixed(2)} (target ≥ 0.3)`,
      `ratio astro sink (1 worker, 2 in flight) / pyarrow write-only: ${(pyWrite / w1p.seconds).toFixed(2)}`,
      `ratio astro sink (2 workers) / pyarrow write-only: ${(pyWrite / w2.seconds).toFixed(2)}`,
      `ratio astro sink (1 worker) / pyarrow build+write: ${(pyBoth / w1.seconds).toFixed(2)}`,
      `ratio hyparquet-writer / pyarrow write-only: ${(pyWrite / inline.seconds).toFixed(2)}; parquet-wasm write-only: ${(pyWrite / wasmWrite).toFixed(2)}, with Arrow build: ${(pyWrite / wasmBoth).toFixed(2)}; DuckDB COPY: ${(pyWrite / duckWrite).toFixed(2)}, with read_json: ${(pyWrite / duckBoth).toFixed(2)}`,
      `snappy alone on trace text (${snappy.mb.toFixed(0)} MB in 1 MiB pages, CPU time): astro ${snappy.astro.toFixed(0)} MB/s, hyparquet-writer ${snappy.hyparquet.toFixed(0)} MB/s (${snappy.ratio.toFixed(2)}x)`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Run only as the entry script, so a bench runner (or a profiling script) can import it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === 'snappy') {
    // `snappy [rows=10000] [rounds=7]`: the codec comparison alone (seconds, not minutes).
    const r = snappyRates(makeTraces(Number(process.argv[3] ?? 10_000), 3000), Number(process.argv[4] ?? 7));
    console.log(`snappy on ${r.mb.toFixed(1)} MB of trace text, 1 MiB pages, CPU time, best of alternating rounds: astro ${r.astro.toFixed(0)} MB/s, hyparquet-writer ${r.hyparquet.toFixed(0)} MB/s (${r.ratio.toFixed(2)}x)`);
  } else {
    await runParquetSinkBench(process.argv.slice(2));
  }
}

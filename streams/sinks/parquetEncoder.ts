import { Worker } from 'node:worker_threads';
import { AppError, toAppError } from '../../operators/common/errors.js';
import { noopMetrics, type Metrics } from '../../operators/common/metrics.js';
import type { Trace } from '../../schemas/trace.js';
import { planTable, RowPacker, type ColumnPlan } from './parquetWire.js';
import { TRACE_PARQUET_TABLE, type ParquetTableSpec } from './traceParquetSchema.js';

/** Row type of each table the encoder knows, by kind. */
export interface ParquetRowTypes {
  readonly traces: Trace;
}
export type ParquetKind = keyof ParquetRowTypes;

/** Page codecs: SNAPPY from the `snappy` package (native), GZIP from Node's zlib. */
export type ParquetCodec = 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED';

export interface ParquetEncoderConfig {
  /** Worker threads encoding in parallel (default 1; the machine has 2 cores shared with the stage). */
  readonly workers?: number;
  /** Default SNAPPY. */
  readonly codec?: ParquetCodec;
  /** Rows per row group (default 10 000: ~50 MB of uncompressed text for traces of ~5 KB). */
  readonly rowGroupRows?: number;
  /** Parquet `created_by` footer field. */
  readonly createdBy?: string;
  /**
   * Rows posted to the worker per message (default 256). Packing a chunk (UTF-8 encoding its text
   * columns, structured clone of the rest) runs on the calling thread, ~10 µs per 7 KB trace;
   * chunks with a yield between them keep each pause short.
   */
  readonly chunkRows?: number;
}

export interface ParquetEncoderDeps {
  /** Observes `parquet.encode_ms` (time inside the worker) and `parquet.bytes`. */
  readonly metrics?: Metrics;
}

/** Extra key/value metadata stored in the Parquet footer. */
export type ParquetKeyValue = { readonly key: string; readonly value: string };

const TABLES: Record<ParquetKind, ParquetTableSpec> = { traces: TRACE_PARQUET_TABLE };
// Which columns take the packed fast path, decided once per table.
const PLANS: Record<ParquetKind, readonly ColumnPlan[]> = { traces: planTable(TRACE_PARQUET_TABLE) };
const PACKERS: Record<ParquetKind, RowPacker> = { traces: new RowPacker(PLANS.traces) };

/** One encoded Parquet file. */
export interface EncodedFile {
  readonly bytes: Uint8Array;
  /** Hex sha256 of `bytes`, computed on the worker. */
  readonly sha256: string;
  /** Time spent encoding inside the worker, ms. */
  readonly encodeMs: number;
}

type Reply =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array; readonly sha256: string; readonly encodeMs: number }
  | { readonly id: number; readonly ok: false; readonly message: string };

interface Job {
  readonly resolve: (file: EncodedFile) => void;
  readonly reject: (error: AppError) => void;
}

interface Slot {
  // Undefined after a crash until the next encode: respawning lazily cannot loop on a worker that dies at startup.
  worker: Worker | undefined;
  // Jobs sent to this worker and not yet answered; a crash fails exactly these.
  readonly pending: Map<number, Job>;
}

/**
 * Encodes row batches to Parquet files (in memory) on worker threads, so a stage's event loop
 * keeps serving its consumer while the (synchronous) encoding runs. Rows go over in chunks: long
 * text columns packed here as UTF-8 page bytes and transferred (parquetWire.ts), the worker
 * compressing each chunk's pages while the next is packed. The file bytes come back as a
 * transferred buffer, not a copy.
 *
 * @example
 * const encoder = ParquetEncoder.create({ workers: 1 });
 * const bytes = await encoder.encode('traces', traces);
 * await encoder.close();
 */
export class ParquetEncoder {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly config: Required<ParquetEncoderConfig>,
    private readonly metrics: Metrics,
  ) {
    for (let i = 0; i < config.workers; i++) this.slots.push({ worker: this.spawn(), pending: new Map() });
  }

  /** Starts the worker threads. Call `close()` when done (idle workers do not keep the process alive). */
  static create(config: ParquetEncoderConfig = {}, deps: ParquetEncoderDeps = {}): ParquetEncoder {
    const workers = config.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new AppError('config', `workers must be a positive integer, got ${workers}`);
    const rowGroupRows = config.rowGroupRows ?? 10_000;
    const chunkRows = config.chunkRows ?? 256;
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new AppError('config', `chunkRows must be a positive integer, got ${chunkRows}`);
    if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) throw new AppError('config', `rowGroupRows must be a positive integer, got ${rowGroupRows}`);
    return new ParquetEncoder(
      { workers, rowGroupRows, chunkRows, codec: config.codec ?? 'SNAPPY', createdBy: config.createdBy ?? 'astro-stream (hyparquet-writer 0.17)' },
      deps.metrics ?? noopMetrics,
    );
  }

  /** The codec every file is written with. */
  get codec(): ParquetCodec {
    return this.config.codec;
  }

  /**
   * Encodes `rows` as one complete Parquet file. Rejects with a `sink` AppError if the worker
   * cannot encode them (not retriable) or died meanwhile (retriable: a new worker replaces it).
   */
  async encode<K extends ParquetKind>(kind: K, rows: readonly ParquetRowTypes[K][], kvMetadata?: readonly ParquetKeyValue[]): Promise<Uint8Array> {
    return (await this.encodeFile(kind, rows, kvMetadata)).bytes;
  }

  /** Like `encode`, also returning the file's sha256 and the encode time. */
  async encodeFile<K extends ParquetKind>(kind: K, rows: readonly ParquetRowTypes[K][], kvMetadata?: readonly ParquetKeyValue[]): Promise<EncodedFile> {
    if (this.closed) throw new AppError('sink', 'ParquetEncoder is closed');
    // Least-loaded worker: batches differ in size, so round-robin could queue behind a big one.
    const slot = this.slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
    const worker = slot.worker ?? (slot.worker = this.spawn());
    const id = this.nextId++;
    const done = new Promise<EncodedFile>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) worker.ref();
    });
    // It may reject (crash, close) while chunks are still being posted, before the caller holds it.
    done.catch(() => undefined);
    const packer = PACKERS[kind];
    const { chunkRows, rowGroupRows } = this.config;
    for (let start = 0; ; ) {
      // Chunks never straddle a row group: the worker forms row groups from whole chunks.
      const end = Math.min(start + chunkRows, rows.length, (Math.floor(start / rowGroupRows) + 1) * rowGroupRows);
      const last = end >= rows.length;
      // A crash or close() meanwhile has already rejected `done`; stop feeding a dead worker.
      if (!slot.pending.has(id) || slot.worker !== worker) break;
      let packed: ReturnType<RowPacker['pack']>;
      try {
        packed = packer.pack(rows, start, end);
      } catch (error) {
        // Bad values found while packing: the worker drops the partial file when it gets `abort`.
        worker.postMessage({ id, abort: true });
        this.settle(slot, worker, id, (job) => job.reject(toAppError(error, 'sink')));
        break;
      }
      worker.postMessage({ id, kind, rows: end - start, columns: packed.columns, last, kvMetadata: last ? kvMetadata : undefined }, packed.transfer);
      if (last) break;
      start = end;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return done;
  }

  /** Terminates the workers; encodes still in flight reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) this.failAll(slot, new AppError('sink', 'ParquetEncoder closed while encoding'));
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./parquetEncodeWorker.js', import.meta.url), {
      workerData: { tables: Object.fromEntries(Object.entries(TABLES).map(([kind, spec]) => [kind, { ...spec, plan: PLANS[kind as ParquetKind] }])), codec: this.config.codec, rowGroupRows: this.config.rowGroupRows, createdBy: this.config.createdBy },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => this.onReply(worker, reply));
    worker.on('error', (error) => this.onCrash(worker, error));
    worker.on('exit', (code) => this.onCrash(worker, new Error(`parquet worker exited with code ${code}`)));
    return worker;
  }

  private onReply(worker: Worker, reply: Reply): void {
    const slot = this.slots.find((s) => s.worker === worker);
    if (slot === undefined) return;
    this.settle(slot, worker, reply.id, (job) => {
      if (reply.ok) {
        this.metrics.observe('parquet.encode_ms', reply.encodeMs);
        this.metrics.observe('parquet.bytes', reply.bytes.byteLength);
        job.resolve({ bytes: reply.bytes, sha256: reply.sha256, encodeMs: reply.encodeMs });
      } else {
        job.reject(new AppError('sink', `parquet encoding failed: ${reply.message}`));
      }
    });
  }

  /** Removes job `id` from the slot (unref'ing an idle worker) and hands it to `finish`. */
  private settle(slot: Slot, worker: Worker, id: number, finish: (job: Job) => void): void {
    const job = slot.pending.get(id);
    if (job === undefined) return;
    slot.pending.delete(id);
    if (slot.pending.size === 0) worker.unref();
    finish(job);
  }

  private onCrash(worker: Worker, cause: Error): void {
    if (this.closed) return;
    const slot = this.slots.find((s) => s.worker === worker);
    if (slot === undefined) return;
    this.failAll(slot, new AppError('sink', `parquet worker died: ${cause.message}`, { retriable: true, cause }));
    // 'error' is followed by 'exit': detach so the second event finds no slot.
    worker.removeAllListeners();
    worker.on('error', () => undefined);
    void worker.terminate();
    slot.worker = undefined;
  }

  private failAll(slot: Slot, error: AppError): void {
    for (const job of slot.pending.values()) job.reject(error);
    slot.pending.clear();
  }
}

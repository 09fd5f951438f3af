import { AppError } from '../../operators/common/errors.js';
import { sha256Hex } from '../../operators/common/hash.js';
import { noopMetrics, type Metrics } from '../../operators/common/metrics.js';
import type { DeadLetter } from '../../schemas/deadLetter.js';
import { ProblemCodec, type Problem } from '../../schemas/problem.js';
import { MAX_RECORD_BYTES } from '../../schemas/topics.js';
import type { OutgoingRecord } from '../transport/transport.js';
import type { SourceItem, SourceRow } from './sourceRows.js';

/** What becomes of one source row. */
export type Admission =
  /** A problem to publish, keyed by its id. */
  | { readonly kind: 'problem'; readonly problem: Problem; readonly record: OutgoingRecord }
  /** The same problem (same id, same content) read again: skipped, nothing is lost. */
  | { readonly kind: 'duplicate'; readonly problem: Problem }
  /** A row that cannot be published, with the reason and its original bytes. */
  | { readonly kind: 'dead'; readonly letter: DeadLetter };

export interface ProblemAdmissionConfig {
  /** The problems topic the records go to (dead letters name it as their source topic). */
  readonly topic: string;
  /** Largest record the topic takes (bytes). Default: the registry's MAX_RECORD_BYTES. */
  readonly maxRecordBytes?: number;
}

export interface ProblemAdmissionDeps {
  readonly clock: () => number;
  /** Counts `source.problems`, `source.dead_lettered` (and `stage.dead_letters{stage="source"}`), `source.duplicate_rows`, `source.conflicting_ids`. */
  readonly metrics?: Metrics;
}

/** Decides, row by row, what a source publishes; remembers the ids it has seen. */
export interface ProblemAdmission {
  admit(item: SourceItem): Admission;
}

// A record batch carries ~100 bytes of headers besides the key and value: leave room for them.
const RECORD_OVERHEAD_BYTES = 1024;

/**
 * The one gate every problem source (`run`, `source`) passes rows through, so none is lost
 * silently: a failed row, a problem larger than the topic takes (which would stop the producer),
 * and a second problem with an id already seen but different content each become a dead letter
 * with the reason and the row's original bytes; the same problem read twice is skipped and
 * counted. Everything else is a record to publish.
 */
export function createProblemAdmission(config: ProblemAdmissionConfig, deps: ProblemAdmissionDeps): ProblemAdmission {
  const metrics = deps.metrics ?? noopMetrics;
  const limit = (config.maxRecordBytes ?? MAX_RECORD_BYTES) - RECORD_OVERHEAD_BYTES;
  // Per id seen, its ordinal; per ordinal, its record's hash and its row. One map lookup per row,
  // and numbers rather than objects: a million-row file keeps a million entries.
  const seen = new Map<string, number>();
  const hashes: number[] = [];
  const rows: number[] = [];
  const dead = (row: SourceRow, error: AppError): Admission => {
    metrics.increment('source.dead_lettered');
    // As the stages count theirs, so an exporter reports every dead letter in one family.
    metrics.increment('stage.dead_letters', 1, { stage: 'source', topic: config.topic, kind: error.kind });
    return { kind: 'dead', letter: sourceDeadLetter(row, error, config.topic, deps.clock()) };
  };
  return {
    admit: ({ row, result }) => {
      if (!result.ok) return dead(row, result.error);
      const problem = result.value;
      const value = ProblemCodec.encode(problem);
      // Three bytes per UTF-16 unit bounds the key's UTF-8 size without encoding it.
      if (value.byteLength + problem.id.length * 3 > limit) {
        return dead(row, new AppError('too_large', `${row.where}: the problem is ${value.byteLength} bytes, over the ${limit} bytes a record of ${config.topic} may have`));
      }
      // 52 bits of the sha256 (hardware-accelerated: a JS hash loop over the bytes cost 3× more).
      const hash = Number.parseInt(sha256Hex(value).slice(0, 13), 16);
      const earlier = seen.get(problem.id);
      if (earlier !== undefined) {
        if (hashes[earlier] === hash) {
          metrics.increment('source.duplicate_rows');
          return { kind: 'duplicate', problem };
        }
        metrics.increment('source.conflicting_ids');
        return dead(row, new AppError('duplicate', `${row.where}: problem id ${problem.id} was already read from row/line ${rows[earlier] ?? '?'} with different content; ids must name one problem`));
      }
      seen.set(problem.id, hashes.length);
      hashes.push(hash);
      rows.push(row.index);
      metrics.increment('source.problems');
      return { kind: 'problem', problem, record: { key: problem.id, value } };
    },
  };
}

/** The dead letter of a source row: its original bytes (cut to what a DLQ takes, with the full size) and the reason. */
export function sourceDeadLetter(row: SourceRow, error: AppError, topic: string, failedAt: number): DeadLetter {
  return {
    source_topic: topic,
    // A file row has no topic position: partition 0 and the row's 1-based line/row number.
    source_partition: 0,
    source_offset: row.index,
    key: null,
    value_base64: Buffer.from(row.bytes).toString('base64'),
    value_bytes: row.size,
    ...(row.bytes.byteLength < row.size ? { value_truncated: true } : {}),
    stage: 'source',
    error_kind: error.kind,
    retriable: false,
    reason: error.message,
    failed_at: failedAt,
  };
}


/**
 * Every failure the pipeline can route or report has a `kind` (a string union, so `switch` is
 * exhaustive and it survives serialization into a DLQ record) and a `retriable` flag.
 */
export type ErrorKind =
  | 'decode' // bytes are not valid JSON / not the expected encoding
  | 'schema' // decoded value fails the zod schema
  | 'timeout' // an operation exceeded its time limit
  | 'policy' // the policy backend failed (5xx, bad body, exhausted retries)
  | 'verifier' // the verifier could not judge (parse failure is a verdict, not this)
  | 'linearize' // a tree could not be linearized (e.g. no correct terminal)
  | 'sink' // a sink could not write
  | 'transport' // broker / transport failure
  | 'config' // invalid user configuration
  | 'stale' // a record produced by a policy version too far behind the trainer
  | 'too_large' // a record exceeds its topic's size limit (Kafka max.message.bytes)
  | 'duplicate' // a record reuses the id of an earlier one with different content
  | 'storage' // the output cannot be written (disk full, read-only file system): not a per-record failure, the process stops
  | 'internal'; // an unexpected failure that is still a per-record value

/** A typed, serializable error. `retriable` says whether the same input may succeed later. */
export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly retriable: boolean;
  constructor(kind: ErrorKind, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.retriable = options.retriable ?? false;
  }
}

/** Converts anything thrown into an AppError, keeping kind/retriable when present. */
export function toAppError(error: unknown, fallbackKind: ErrorKind = 'internal'): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError(fallbackKind, message, { cause: error });
}

/**
 * Failures of the output itself (disk full, read-only file system, permissions): every other
 * record would fail the same way, so they stop the stage instead of filling the DLQ.
 */
export function isStorageError(error: unknown): error is AppError {
  return error instanceof AppError && error.kind === 'storage';
}

/**
 * Programmer errors (TypeError, RangeError, ...) are not per-record values: the stage must exit
 * non-zero with offsets uncommitted so a restart redoes the work (STYLE.md error table).
 */
export function isProgrammerError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError;
}

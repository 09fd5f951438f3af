import { AppError, toAppError, type ErrorKind } from './errors.js';

/**
 * A failure of one record is a value, not `subscriber.error()`: an Rx error ends the stage.
 * `input` carries the record that failed so the stage can send it to the DLQ.
 */
export type Result<T, I = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: AppError; readonly input?: I };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });

export const fail = <I = unknown>(error: AppError, input?: I): Result<never, I> =>
  input === undefined ? { ok: false, error } : { ok: false, error, input };

/** Runs `fn`, turning a thrown non-programmer error into a failed Result of `kind`. */
export async function attempt<T, I = unknown>(fn: () => Promise<T> | T, kind: ErrorKind, input?: I): Promise<Result<T, I>> {
  try {
    return ok(await fn());
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) throw error;
    return fail(error instanceof AppError ? error : toAppError(error, kind), input);
  }
}

import type { z } from 'zod';
import { AppError } from '../operators/common/errors.js';
import { fail, ok, type Result } from '../operators/common/result.js';

/** Bytes ↔ validated record. `decode` never throws: bad input is a failed Result (→ DLQ). */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): Result<T>;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Longest reason we put in a DLQ record: enough to name every failing field of a bad record. */
const MAX_REASON_CHARS = 2_000;

/** `a.b[2].c: message; ...` — names the failing field paths so a DLQ reader can fix the producer. */
export function describeIssues(error: z.ZodError, root: string): string {
  const text = error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`), root);
      return `${path}: ${issue.message}`;
    })
    .join('; ');
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/** A UTF-8 JSON codec validated by a zod schema; `name` prefixes field paths in reasons. */
export function jsonCodec<S extends z.ZodType>(schema: S, name: string): Codec<z.infer<S>> {
  return {
    encode: (value) => utf8Encoder.encode(JSON.stringify(value)),
    decode: (bytes) => {
      let text: string;
      try {
        text = utf8Decoder.decode(bytes);
      } catch {
        return fail(new AppError('decode', `${name}: value is not valid UTF-8 (${bytes.byteLength} bytes)`));
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
        return fail(new AppError('decode', `${name}: value is not JSON (${(error as Error).message}): ${JSON.stringify(preview)}`));
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) return fail(new AppError('schema', `${name} does not match the schema: ${describeIssues(parsed.error, name)}`));
      return ok(parsed.data as z.infer<S>);
    },
  };
}

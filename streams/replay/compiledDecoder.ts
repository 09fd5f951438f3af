import type { z } from 'zod';
import type { Codec } from '../../schemas/codec.js';
import { ok, type Result } from '../../operators/common/result.js';

/** A check compiled from a zod schema: true only where the schema accepts the value unchanged. */
type Check = (value: unknown) => boolean;

// The parts of zod 4's internal definitions the compiler reads; anything else is unsupported.
interface ZodDefLike {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly shape?: Readonly<Record<string, ZodLike>>;
  readonly catchall?: unknown;
  readonly element?: ZodLike;
  readonly innerType?: ZodLike;
}
interface CheckDef {
  readonly check: string;
  readonly format?: string;
  readonly value?: unknown;
  readonly inclusive?: boolean;
  readonly minimum?: unknown;
}
interface ZodLike {
  readonly _zod: { readonly def: ZodDefLike };
}

class Unsupported extends Error {}

function numberCheck(def: CheckDef): (n: number) => boolean {
  if (def.check === 'number_format' && def.format === 'safeint') return (n) => Number.isSafeInteger(n);
  if (def.check === 'greater_than' && typeof def.value === 'number') {
    const v = def.value;
    return def.inclusive === true ? (n) => n >= v : (n) => n > v;
  }
  if (def.check === 'less_than' && typeof def.value === 'number') {
    const v = def.value;
    return def.inclusive === true ? (n) => n <= v : (n) => n < v;
  }
  throw new Unsupported(`number check ${def.check}`);
}

function lengthCheck(def: CheckDef): (length: number) => boolean {
  if (def.check === 'min_length' && typeof def.minimum === 'number') {
    const min = def.minimum;
    return (length) => length >= min;
  }
  throw new Unsupported(`length check ${def.check}`);
}

const checkDefs = (def: ZodDefLike): CheckDef[] => (def.checks ?? []).map((c) => c._zod.def);

function compile(schema: ZodLike): Check {
  const def = schema._zod.def;
  switch (def.type) {
    case 'string': {
      const checks = checkDefs(def).map(lengthCheck);
      return (v) => typeof v === 'string' && checks.every((c) => c(v.length));
    }
    case 'number': {
      const checks = checkDefs(def).map(numberCheck);
      // Finite only: JSON cannot carry anything else, and a stricter check just falls back to zod.
      return (v) => typeof v === 'number' && Number.isFinite(v) && checks.every((c) => c(v));
    }
    case 'boolean':
      if (checkDefs(def).length > 0) throw new Unsupported('boolean checks');
      return (v) => typeof v === 'boolean';
    case 'nullable': {
      if (def.innerType === undefined) throw new Unsupported('nullable without inner type');
      const inner = compile(def.innerType);
      return (v) => v === null || inner(v);
    }
    case 'array': {
      if (def.element === undefined) throw new Unsupported('array without element');
      const element = compile(def.element);
      const checks = checkDefs(def).map(lengthCheck);
      return (v) => Array.isArray(v) && checks.every((c) => c(v.length)) && v.every(element);
    }
    case 'object':
      return compileObject(def);
    default:
      throw new Unsupported(`zod type ${def.type}`);
  }
}

function compileObject(def: ZodDefLike): Check {
  // catchall set means strict or passthrough objects: their output is not the input as parsed.
  if (def.shape === undefined || def.catchall !== undefined || checkDefs(def).length > 0) throw new Unsupported('object mode');
  const fields = Object.entries(def.shape).map(([key, field]) => {
    const fieldDef = field._zod.def;
    if (fieldDef.type === 'optional') {
      if (fieldDef.innerType === undefined || checkDefs(fieldDef).length > 0) throw new Unsupported('optional');
      return { key, optional: true, check: compile(fieldDef.innerType) };
    }
    return { key, optional: false, check: compile(field) };
  });
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const record = v as Record<string, unknown>;
    // zod's output has exactly the schema's keys in schema order (unknown keys stripped); the
    // parsed value is only returned as is when it already has that shape.
    let next = 0;
    for (const key in record) {
      if (!Object.prototype.hasOwnProperty.call(record, key)) return false;
      for (;;) {
        const field = fields[next];
        if (field === undefined) return false;
        next += 1;
        if (field.key === key) break;
        if (!field.optional) return false;
      }
      if (!(fields[next - 1] as (typeof fields)[number]).check(record[key])) return false;
    }
    for (let i = next; i < fields.length; i++) if (!(fields[i] as (typeof fields)[number]).optional) return false;
    return true;
  };
}

/** The schema compiled to a plain predicate, or null when it uses a zod feature the compiler does not know. */
export function compileSchemaCheck(schema: z.ZodType): Check | null {
  try {
    return compile(schema as unknown as ZodLike);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A faster `codec.decode` for the replay's hot loop, with exactly the codec's results: the JSON is
 * parsed once and checked by a predicate compiled from the zod schema, which accepts only values
 * zod would return unchanged (same keys in schema order, every constraint met). Anything else
 * (bad UTF-8, bad JSON, unknown or reordered keys, a failed constraint) goes through
 * `codec.decode`, so rejections and their reasons are the codec's own. A schema the compiler does
 * not understand gets the codec as is.
 */
export function compiledDecoder<S extends z.ZodType>(schema: S, codec: Codec<z.infer<S>>): (bytes: Uint8Array) => Result<z.infer<S>> {
  const check = compileSchemaCheck(schema);
  if (check === null) return (bytes) => codec.decode(bytes);
  return (bytes) => {
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(bytes));
    } catch {
      return codec.decode(bytes);
    }
    return check(json) ? ok(json as z.infer<S>) : codec.decode(bytes);
  };
}

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
  readonly entries?: Readonly<Record<string, unknown>>;
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

/** A number of a check definition, as JavaScript source (finite numbers only). */
function literal(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Unsupported(`bound ${String(value)}`);
  return Object.is(value, -0) ? '0' : String(value);
}

function numberCondition(def: CheckDef): string {
  if (def.check === 'number_format' && def.format === 'safeint') return 'Number.isSafeInteger(x)';
  if (def.check === 'greater_than') return `x ${def.inclusive === true ? '>=' : '>'} ${literal(def.value)}`;
  if (def.check === 'less_than') return `x ${def.inclusive === true ? '<=' : '<'} ${literal(def.value)}`;
  throw new Unsupported(`number check ${def.check}`);
}

function lengthCondition(def: CheckDef, of: string): string {
  if (def.check === 'min_length') return `${of}.length >= ${literal(def.minimum)}`;
  throw new Unsupported(`length check ${def.check}`);
}

const checkDefs = (def: ZodDefLike): CheckDef[] => (def.checks ?? []).map((c) => c._zod.def);

/**
 * Generates one JavaScript function per schema node (`c0`, `c1`, ...; `c0` is the root), the way
 * zod itself compiles objects: a check of a tree is then plain property reads and comparisons.
 * Only constants that come from the schema (numbers validated as finite, keys JSON-quoted) are
 * written into the source.
 */
class CheckCompiler {
  readonly functions: string[] = [];

  compile(schema: ZodLike): string {
    const name = `c${this.functions.length}`;
    this.functions.push('');
    this.functions[Number(name.slice(1))] = `function ${name}(x) {\n${this.body(schema._zod.def)}\n}`;
    return name;
  }

  private body(def: ZodDefLike): string {
    switch (def.type) {
      case 'string':
        return `return typeof x === 'string'${checkDefs(def).map((c) => ` && ${lengthCondition(c, 'x')}`).join('')};`;
      case 'number':
        // Finite only: JSON cannot carry anything else, and a stricter check just falls back to zod.
        return `return typeof x === 'number' && Number.isFinite(x)${checkDefs(def).map((c) => ` && ${numberCondition(c)}`).join('')};`;
      case 'boolean':
        if (checkDefs(def).length > 0) throw new Unsupported('boolean checks');
        return `return typeof x === 'boolean';`;
      case 'enum': {
        // String enums only (what the schemas use); values are JSON-quoted into the source.
        const values = Object.values(def.entries ?? {});
        if (values.length === 0 || !values.every((v) => typeof v === 'string') || checkDefs(def).length > 0) throw new Unsupported('enum');
        return `return ${values.map((v) => `x === ${JSON.stringify(v)}`).join(' || ')};`;
      }
      case 'nullable':
        if (def.innerType === undefined) throw new Unsupported('nullable without inner type');
        return `return x === null || ${this.compile(def.innerType)}(x);`;
      case 'array': {
        if (def.element === undefined) throw new Unsupported('array without element');
        const element = this.compile(def.element);
        const lengths = checkDefs(def).map((c) => ` || !(${lengthCondition(c, 'x')})`).join('');
        return `if (!Array.isArray(x)${lengths}) return false;\nfor (let i = 0; i < x.length; i++) if (!${element}(x[i])) return false;\nreturn true;`;
      }
      case 'object':
        return this.objectBody(def);
      default:
        throw new Unsupported(`zod type ${def.type}`);
    }
  }

  private objectBody(def: ZodDefLike): string {
    // catchall set means strict or passthrough objects: their output is not the input as parsed.
    if (def.shape === undefined || def.catchall !== undefined || checkDefs(def).length > 0) throw new Unsupported('object mode');
    const fields = Object.entries(def.shape).map(([key, field]) => {
      const fieldDef = field._zod.def;
      if (fieldDef.type === 'optional') {
        if (fieldDef.innerType === undefined || checkDefs(fieldDef).length > 0) throw new Unsupported('optional');
        return { key, optional: true, check: this.compile(fieldDef.innerType) };
      }
      return { key, optional: false, check: this.compile(field) };
    });
    const keys = JSON.stringify(fields.map((f) => f.key));
    const optional = JSON.stringify(fields.map((f) => f.optional));
    // zod's output has exactly the schema's keys in schema order (unknown keys stripped); the
    // parsed value is only returned as is when it already has that shape.
    const order = fields.every((f) => !f.optional)
      ? `if (k.length !== ${fields.length}${fields.map((f, i) => ` || k[${i}] !== ${JSON.stringify(f.key)}`).join('')}) return false;`
      : [
          `const K = ${keys}, O = ${optional};`,
          'let n = 0;',
          'for (const key of k) {',
          '  for (;;) { if (n >= K.length) return false; const f = K[n++]; if (f === key) break; if (!O[n - 1]) return false; }',
          '}',
          'for (; n < K.length; n++) if (!O[n]) return false;',
        ].join('\n');
    const checks = fields.map((f) => {
      const value = `x[${JSON.stringify(f.key)}]`;
      return f.optional ? `(${value} === undefined || ${f.check}(${value}))` : `${f.check}(${value})`;
    });
    return [
      `if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;`,
      'const k = Object.keys(x);',
      order,
      `return ${checks.length === 0 ? 'true' : checks.join(' && ')};`,
    ].join('\n');
  }
}

function compile(schema: ZodLike): Check {
  const compiler = new CheckCompiler();
  const root = compiler.compile(schema);
  return new Function(`'use strict';\n${compiler.functions.join('\n')}\nreturn ${root};`)() as Check;
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

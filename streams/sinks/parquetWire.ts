import type { SchemaElement } from 'hyparquet';
import { AppError } from '../../operators/common/errors.js';
import type { ParquetTableSpec } from './traceParquetSchema.js';

/**
 * How the encoding worker receives one top-level column. Long text columns are UTF-8 encoded on
 * the calling thread straight into PLAIN page layout and transferred (no structured clone of the
 * strings, no second UTF-8 pass in the worker); the rest go as plain values for hyparquet-writer.
 */
export type ColumnPlan = ValuesColumnPlan | PackedColumnPlan;

/** A column hyparquet-writer encodes from JS values (dictionary trial, statistics). */
export interface ValuesColumnPlan {
  readonly name: string;
  readonly fast: false;
}

/**
 * A column on the fast path: all of its leaves are BYTE_ARRAY (strings) or INT32, PLAIN, without
 * statistics; either a flat value or a 3-level LIST of values or of structs of values.
 */
export interface PackedColumnPlan {
  readonly name: string;
  readonly fast: true;
  readonly shape: 'flat' | 'list';
  /** Definition level of a present (possibly empty) top-level value: 1 if OPTIONAL, else 0. */
  readonly columnDef: number;
  /** 1 if list elements are OPTIONAL (a null element has its own level), else 0. */
  readonly elementDef: number;
  readonly leaves: readonly PackedLeafPlan[];
}

/** One leaf of a fast column. */
export interface PackedLeafPlan {
  readonly type: 'BYTE_ARRAY' | 'INT32';
  /** Struct field the leaf reads from each list element; absent for a flat column or a list of strings. */
  readonly field?: string;
  readonly path: readonly string[];
  readonly maxDef: number;
  readonly maxRep: number;
  /** 1 if the leaf itself is OPTIONAL. */
  readonly leafDef: number;
}

/**
 * One leaf of a fast column, for one chunk of rows: PLAIN bytes (u32 length + UTF-8 per string,
 * or 4-byte little-endian INT32s) and levels.
 */
export interface WirePackedLeaf {
  /** A view of the transferred buffer, which may be a little longer. */
  readonly bytes: Uint8Array;
  /** Definition levels, one per level entry; absent when `maxDef` is 0. */
  readonly def: Uint8Array | undefined;
  /** Repetition levels; absent for flat columns. */
  readonly rep: Uint8Array | undefined;
  readonly levels: number;
}

/** One column of one chunk, in the table's column order. */
export type WireColumn = { readonly values: unknown[] } | { readonly leaves: readonly WirePackedLeaf[] };

const optional = (e: SchemaElement | undefined): number => (e?.repetition_type === 'REQUIRED' ? 0 : 1);

/**
 * Splits a table's top-level columns into fast text columns and value columns. A column is fast
 * when its options say `encoding: 'PLAIN'` and `statistics: false` and its shape is one the packer
 * knows; anything else keeps hyparquet-writer's general path.
 */
export function planTable(spec: ParquetTableSpec): ColumnPlan[] {
  const schema = spec.schema;
  // Index of each top-level column's element: walk the root's children, skipping subtrees.
  const tops = new Map<string, number>();
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < (schema[at]?.num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    tops.set(schema[i]?.name ?? '', i);
    i = skip(i);
  }
  return spec.columns.map((name): ColumnPlan => {
    const options = spec.columnOptions?.[name];
    const at = tops.get(name);
    if (at === undefined) throw new AppError('config', `parquet column ${name} is not in the schema`);
    if (options?.encoding !== 'PLAIN' || options.statistics !== false) return { name, fast: false };
    const col = schema[at];
    const text = (e: SchemaElement | undefined): e is SchemaElement & { type: 'BYTE_ARRAY' | 'INT32' } =>
      (e?.type === 'BYTE_ARRAY' || (e?.type === 'INT32' && e.converted_type === undefined && e.logical_type === undefined)) && !e.num_children;
    if (text(col)) {
      const def = optional(col);
      return { name, fast: true, shape: 'flat', columnDef: def, elementDef: 0, leaves: [{ type: col.type, path: [name], maxDef: def, maxRep: 0, leafDef: def }] };
    }
    // 3-level LIST: name (LIST) -> repeated group (1 child) -> element (string or struct of strings).
    const repeated = schema[at + 1];
    const element = schema[at + 2];
    if (col?.converted_type !== 'LIST' || col.num_children !== 1 || repeated?.repetition_type !== 'REPEATED' || repeated.num_children !== 1 || element === undefined) {
      return { name, fast: false };
    }
    const columnDef = optional(col);
    const elementDef = optional(element);
    const base = [name, repeated.name, element.name];
    if (text(element)) {
      return { name, fast: true, shape: 'list', columnDef, elementDef, leaves: [{ type: element.type, path: base, maxDef: columnDef + 1 + elementDef, maxRep: 1, leafDef: 0 }] };
    }
    const fields = schema.slice(at + 3, at + 3 + (element.num_children ?? 0));
    if (!element.num_children || !fields.every(text)) return { name, fast: false };
    return {
      name,
      fast: true,
      shape: 'list',
      columnDef,
      elementDef,
      leaves: fields.map((f) => ({ type: f.type, field: f.name, path: [...base, f.name], maxDef: columnDef + 1 + elementDef + optional(f), maxRep: 1, leafDef: optional(f) })),
    };
  });
}

/**
 * Packs rows into wire columns for the encoding worker: one pass over each fast leaf's values,
 * UTF-8 written straight into a buffer that is then transferred, not copied.
 */
export class RowPacker {
  constructor(private readonly plan: readonly ColumnPlan[]) {}

  /**
   * Packs `rows[start, end)`. Returns the columns and the buffers to transfer. Throws a `sink`
   * AppError (not retriable) for a value the schema cannot hold, e.g. a number in a text column.
   */
  pack(rows: readonly object[], start: number, end: number): { columns: WireColumn[]; transfer: ArrayBuffer[] } {
    const transfer: ArrayBuffer[] = [];
    const seen: SeenText = new Map();
    const columns = this.plan.map((column): WireColumn => {
      const values = new Array<unknown>(end - start);
      for (let r = start; r < end; r++) values[r - start] = (rows[r] as Record<string, unknown>)[column.name];
      if (!column.fast) return { values };
      const leaves = column.leaves.map((leaf) => (column.shape === 'flat' ? packFlat(column, leaf, values, seen) : packListLeaf(column, leaf, values, seen)));
      for (const leaf of leaves) {
        transfer.push(leaf.bytes.buffer as ArrayBuffer);
        if (leaf.def) transfer.push(leaf.def.buffer as ArrayBuffer);
        if (leaf.rep) transfer.push(leaf.rep.buffer as ArrayBuffer);
      }
      return { leaves };
    });
    return { columns, transfer };
  }
}

function packFlat(column: PackedColumnPlan, leaf: PackedLeafPlan, values: readonly unknown[], seen: SeenText): WirePackedLeaf {
  const out = new PlainBuffer(leaf, estimate(leaf, values, undefined), seen);
  const def = column.columnDef ? new Uint8Array(values.length) : undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!def) throw new AppError('sink', `parquet column ${column.name} is required but row ${i} has no value`);
      continue;
    }
    out.put(v);
    if (def) def[i] = 1;
  }
  return { bytes: out.bytes(), def, rep: undefined, levels: values.length };
}

function packListLeaf(column: PackedColumnPlan, leaf: PackedLeafPlan, values: readonly unknown[], seen: SeenText): WirePackedLeaf {
  // Levels cannot outnumber elements + rows; sized up front.
  let count = 0;
  for (const v of values) count += Array.isArray(v) && v.length > 0 ? v.length : 1;
  const out = new PlainBuffer(leaf, estimate(leaf, values, leaf.field ?? null), seen);
  const def = new Uint8Array(count);
  const rep = new Uint8Array(count);
  const present = column.columnDef; // a present list with no elements
  const elementNull = present + 1; // a null element
  const leafNull = present + 1 + column.elementDef; // an element whose field is null
  let n = 0;
  for (let r = 0; r < values.length; r++) {
    const v = values[r];
    if (v === null || v === undefined) {
      if (!column.columnDef) throw new AppError('sink', `parquet column ${column.name} is required but row ${r} has no value`);
      def[n++] = 0; // rep 0: a new row
      continue;
    }
    if (!Array.isArray(v)) throw new AppError('sink', `parquet column ${column.name} expects a list, got ${typeof v}`);
    if (v.length === 0) {
      def[n++] = present;
      continue;
    }
    for (let j = 0; j < v.length; j++) {
      if (j > 0) rep[n] = 1;
      const element: unknown = v[j];
      if (element === null || element === undefined) {
        if (!column.elementDef) throw new AppError('sink', `parquet column ${column.name} has a null element in row ${r}`);
        def[n++] = elementNull;
        continue;
      }
      const x = leaf.field === undefined ? element : (element as Record<string, unknown>)[leaf.field];
      if (x === null || x === undefined) {
        if (!leaf.leafDef) throw new AppError('sink', `parquet column ${leaf.path.join('.')} is required but row ${r} has no value`);
        def[n++] = leafNull;
        continue;
      }
      out.put(x);
      def[n++] = leaf.maxDef;
    }
  }
  return { bytes: out.bytes(), def, rep, levels: n };
}

/**
 * Bytes the leaf's PLAIN values take if every string is ASCII (exact for INT32): a close first
 * size for the buffer, grown in the rare chunk where multi-byte text overflows it.
 * `field`: undefined for a flat column, null for a list of values, else the struct field.
 */
function estimate(leaf: PackedLeafPlan, values: readonly unknown[], field: string | null | undefined): number {
  let bytes = 64;
  const add = (x: unknown): void => {
    bytes += 4 + (typeof x === 'string' ? x.length : x instanceof Uint8Array ? x.length : 0);
  };
  for (const v of values) {
    if (field === undefined) add(v);
    else if (Array.isArray(v)) for (const e of v) add(field === null || e === null || typeof e !== 'object' ? e : (e as Record<string, unknown>)[field]);
  }
  return leaf.type === 'INT32' ? bytes : bytes + (bytes >>> 5);
}

/**
 * Strings of at least this many UTF-16 units are encoded once per chunk and copied where they
 * repeat. A trace's completion is also its assistant message, so UTF-8 encoding (the stage
 * thread's largest cost: V8 writes text with non-ASCII characters at ~360-440 MB/s here) ran twice
 * over most of its text; packing went from 23.2-23.9 to 14.0-17.5 µs of CPU per bench trace
 * (`node dist/bench/parquetSink.js breakdown`, issue #17). Short strings (ids, roles) skip the
 * lookup, which has to hash the string first.
 */
const SHARED_TEXT_MIN = 256;

/** Long strings already encoded in this chunk: where their UTF-8 bytes are. */
type SeenText = Map<string, { readonly out: PlainBuffer; readonly at: number; readonly length: number }>;

/** PLAIN values of one leaf, appended into a buffer that is transferred as it is. */
class PlainBuffer {
  private buf: Buffer;
  private off = 0;

  constructor(
    private readonly leaf: PackedLeafPlan,
    capacity: number,
    private readonly seen: SeenText,
  ) {
    // Not from Node's shared pool: the whole ArrayBuffer is transferred to the worker.
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  put(v: unknown): void {
    if (this.leaf.type === 'INT32') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
        throw new AppError('sink', `parquet column ${this.leaf.path.join('.')} expects an INT32, got ${String(v)}`);
      }
      this.ensure(4);
      this.buf.writeInt32LE(v, this.off);
      this.off += 4;
    } else if (typeof v === 'string') {
      if (v.length >= SHARED_TEXT_MIN) {
        const first = this.seen.get(v);
        if (first !== undefined) {
          this.ensure(4 + first.length);
          this.buf.writeUInt32LE(first.length, this.off);
          // `first.out.buf` read now: that buffer may have grown (been replaced) since.
          first.out.buf.copy(this.buf, this.off + 4, first.at, first.at + first.length);
          this.off += 4 + first.length;
          return;
        }
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit (a lone surrogate becomes U+FFFD, 3 bytes);
      // the exact length is only worth computing when that bound does not fit.
      if (this.off + 4 + v.length * 3 > this.buf.length) this.ensure(4 + Buffer.byteLength(v, 'utf8'));
      const n = this.buf.write(v, this.off + 4, 'utf8');
      this.buf.writeUInt32LE(n, this.off);
      if (v.length >= SHARED_TEXT_MIN) this.seen.set(v, { out: this, at: this.off + 4, length: n });
      this.off += 4 + n;
    } else if (v instanceof Uint8Array) {
      this.ensure(4 + v.length);
      this.buf.writeUInt32LE(v.length, this.off);
      this.buf.set(v, this.off + 4);
      this.off += 4 + v.length;
    } else {
      throw new AppError('sink', `parquet column ${this.leaf.path.join('.')} expects a string, got ${typeof v}`);
    }
  }

  /** The bytes written so far, as a view of the buffer to transfer. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, 0, this.off);
  }

  private ensure(extra: number): void {
    if (this.off + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.off + extra, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
}

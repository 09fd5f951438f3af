import {
  DataType,
  Field,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  makeBuilder,
  tableFromIPC,
  tableToIPC,
  type Vector,
} from 'apache-arrow';

/**
 * Records ↔ Arrow tables with an explicit schema. Built with typed builders because
 * `tableFromJSON` mis-types lists and turns every string into a dictionary (DESIGN.md pitfalls).
 */
export function recordsToTable<T extends object>(schema: Schema, records: readonly T[]): Table {
  const builder = makeBuilder({ type: new Struct(schema.fields), nullValues: [null, undefined] });
  for (const record of records) builder.append(record as never);
  const data = builder.finish().flush();
  if (records.length === 0) return new Table(schema);
  return new Table([new RecordBatch(schema, data as never)]);
}

/** The inverse of `recordsToTable`: plain JS values; absent optional fields come back absent. */
export function tableToRecords<T>(table: Table): T[] {
  const fields = table.schema.fields;
  const out: T[] = [];
  for (const batch of table.batches) {
    const columns = fields.map((_, i) => batch.getChildAt(i));
    for (let row = 0; row < batch.numRows; row++) {
      const record: Record<string, unknown> = {};
      fields.forEach((field, i) => {
        const value = toPlain(field, columns[i]?.get(row));
        if (value !== null || !field.nullable) record[field.name] = value;
        else if (keepsNull(field)) record[field.name] = null;
      });
      out.push(record as T);
    }
  }
  return out;
}

/**
 * zod distinguishes `.optional()` (key absent) from `.nullable()` (key present, null). Arrow has
 * only nullability, so the Field metadata `nullable_kind=null` marks fields that keep an explicit null.
 */
function keepsNull(field: Field): boolean {
  return field.metadata.get('nullable_kind') === 'null';
}

/** A nullable field whose zod type is `.nullable()` (present, may be null). */
export function nullableField(name: string, type: DataType): Field {
  return new Field(name, type, true, new Map([['nullable_kind', 'null']]));
}

/** A nullable field whose zod type is `.optional()` (may be absent). */
export function optionalField(name: string, type: DataType): Field {
  return new Field(name, type, true, new Map([['nullable_kind', 'optional']]));
}

function toPlain(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const type = field.type as DataType;
  if (DataType.isStruct(type)) {
    const struct = value as { [key: string]: unknown };
    const record: Record<string, unknown> = {};
    for (const child of (type as Struct).children) {
      const v = toPlain(child, struct[child.name]);
      if (v !== null || !child.nullable) record[child.name] = v;
      else if (keepsNull(child)) record[child.name] = null;
    }
    return record;
  }
  if (DataType.isList(type)) {
    const child = (type as List).children[0] as Field;
    const list = value as Vector;
    const items: unknown[] = [];
    for (let i = 0; i < list.length; i++) items.push(toPlain(child, list.get(i)));
    return items;
  }
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Arrow IPC *file* format bytes (random access; what `trees/*.arrow` archives hold). */
export function writeIpcFile(table: Table): Uint8Array {
  return tableToIPC(table, 'file');
}

export function readIpcFile(bytes: Uint8Array): Table {
  return tableFromIPC(bytes);
}

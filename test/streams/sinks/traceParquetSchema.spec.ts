import { describe, expect, it } from 'vitest';
import { Trace, TraceArrow } from '../../../schemas/trace.js';
import { TRACE_PARQUET_TABLE } from '../../../streams/sinks/traceParquetSchema.js';

describe('TRACE_PARQUET_TABLE', () => {
  it('has one column per Trace field, in the order of the zod and Arrow schemas', () => {
    expect(TRACE_PARQUET_TABLE.columns).toEqual(Object.keys(Trace.shape));
    expect(TRACE_PARQUET_TABLE.columns).toEqual(TraceArrow.fields.map((f) => f.name));
  });

  it('is a consistent flattened schema: every group declares exactly the children that follow it', () => {
    const schema = TRACE_PARQUET_TABLE.schema;
    // Walk the flattened tree depth-first; a miscount would shift every later column.
    let i = 0;
    const walk = (): void => {
      const node = schema[i++];
      if (node === undefined) throw new Error('schema ended inside a group');
      for (let c = 0; c < (node.num_children ?? 0); c++) walk();
    };
    walk();
    expect(i).toBe(schema.length);
    expect(schema[0]?.num_children).toBe(TRACE_PARQUET_TABLE.columns.length);
  });

  it('only tunes columns that exist', () => {
    for (const name of Object.keys(TRACE_PARQUET_TABLE.columnOptions ?? {})) expect(TRACE_PARQUET_TABLE.columns).toContain(name);
  });
});

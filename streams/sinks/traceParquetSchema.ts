import type { SchemaElement } from 'hyparquet';
import type { Trace } from '../../schemas/trace.js';

/**
 * A Parquet table layout as plain data: the flattened schema (root first) and the top-level
 * column names, in schema order, that rows are transposed into. Plain data so it can be handed
 * to the encoding worker by structured clone.
 */
export interface ParquetTableSpec {
  readonly schema: readonly SchemaElement[];
  readonly columns: readonly string[];
  /** Per-column writer options (hyparquet-writer `ColumnSource` fields), by top-level column name. */
  readonly columnOptions?: Readonly<Record<string, ParquetColumnOptions>>;
}

/**
 * The subset of hyparquet-writer's per-column options the sinks use. A string or INT32 column (flat,
 * or a LIST of them or of structs of them) with `encoding: 'PLAIN'` and `statistics: false` takes
 * the encoder's packed path (parquetWire.ts): UTF-8 encoded on the caller, pages written directly.
 */
export interface ParquetColumnOptions {
  /** `PLAIN` skips the dictionary trial for columns whose values are all distinct. */
  readonly encoding?: 'PLAIN';
  /** Min/max statistics; useless for pruning on long free text, and costly to compute. */
  readonly statistics?: boolean;
}

// Every column is OPTIONAL (nullable) although a Trace has no nulls: that is what pyarrow and
// DuckDB write by default, so our shards concatenate with files written by those tools.
const utf8 = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
const int32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'OPTIONAL' });

/**
 * The standard 3-level LIST layout (`name` LIST → `list` REPEATED → `element`). Without it
 * hyparquet-writer would store arrays as JSON strings (DESIGN.md "Pitfalls").
 */
function list(name: string, element: readonly SchemaElement[]): SchemaElement[] {
  return [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    ...element,
  ];
}

const columns: readonly (readonly [keyof Trace, readonly SchemaElement[]])[] = [
  ['trace_id', [utf8('trace_id')]],
  ['tree_id', [utf8('tree_id')]],
  ['problem_id', [utf8('problem_id')]],
  ['domain', [utf8('domain')]],
  ['source', [utf8('source')]],
  ['problem_json', [utf8('problem_json')]],
  ['prompt', [utf8('prompt')]],
  ['completion', [utf8('completion')]],
  // DuckDB reads this as STRUCT(role VARCHAR, content VARCHAR)[], the chat SFT layout.
  ['messages', list('messages', [{ name: 'element', repetition_type: 'OPTIONAL', num_children: 2 }, utf8('role'), utf8('content')])],
  ['answer', [utf8('answer')]],
  ['correct', [{ name: 'correct', type: 'BOOLEAN', repetition_type: 'OPTIONAL' }]],
  ['variant', [utf8('variant')]],
  ['k', [int32('k')]],
  ['num_backtracks', [int32('num_backtracks')]],
  ['num_reflections', [int32('num_reflections')]],
  ['node_path', list('node_path', [int32('element')])],
  ['policy_version', [utf8('policy_version')]],
  ['linearizer', [utf8('linearizer')]],
  ['linearizer_config_hash', [utf8('linearizer_config_hash')]],
  ['verifier', [utf8('verifier')]],
  // The legacy TIMESTAMP_MILLIS annotation means "epoch ms, UTC": DuckDB reads it as TIMESTAMP,
  // pyarrow as timestamp[ms, tz=UTC]. The logical-type form with isAdjustedToUTC would make
  // DuckDB say TIMESTAMP WITH TIME ZONE instead.
  ['created_at', [{ name: 'created_at', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' }]],
];

/** Parquet layout of `astro.traces.v1` rows: the dataset output contract (one column per Trace field). */
export const TRACE_PARQUET_TABLE: ParquetTableSpec = {
  schema: [{ name: 'root', num_children: columns.length }, ...columns.flatMap(([, elements]) => elements)],
  columns: columns.map(([name]) => name),
  // Long free text: min/max statistics were ~40% of encode time and prune nothing; completions
  // and problem JSON are all distinct, so the dictionary trial is wasted (prompts repeat across
  // variants of one tree and keep it).
  columnOptions: {
    // Content hashes: all distinct (no dictionary) and uniformly spread (min/max prune nothing).
    trace_id: { encoding: 'PLAIN', statistics: false },
    completion: { encoding: 'PLAIN', statistics: false },
    messages: { encoding: 'PLAIN', statistics: false },
    problem_json: { encoding: 'PLAIN', statistics: false },
    // Node ids along the trace's walk: min/max prune nothing, and PLAIN lets the packer send them
    // as an Int32Array instead of nested arrays (hyparquet's level encoding of them was ~15% of a file).
    node_path: { encoding: 'PLAIN', statistics: false },
    prompt: { statistics: false },
  },
};

import type { Result } from '../../operators/common/result.js';
import type { Problem } from '../../schemas/problem.js';
import type { ProblemFieldMapping } from './problemMapping.js';
import { readParquetRows, type SourceReadOptions, type SourceRow } from './sourceRows.js';

/**
 * Reads a Parquet problem file (hyparquet) as `Result<Problem>`s in row order, a chunk of rows at
 * a time. A bad row is a failed Result naming its 1-based row number, with the row as JSON as its
 * `input` ({@link SourceRow}); INT64, timestamps and binary cells are mapped to JSON values first.
 */
export async function* readParquetProblems(path: string, mapping: ProblemFieldMapping, options: SourceReadOptions = {}): AsyncGenerator<Result<Problem, SourceRow>> {
  for await (const { row, result } of readParquetRows(path, mapping, options)) yield result.ok ? result : { ok: false, error: result.error, input: row };
}

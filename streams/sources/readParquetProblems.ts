import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { Result } from '../../operators/common/result.js';
import type { Problem } from '../../schemas/problem.js';
import { rowToProblem, type ProblemFieldMapping } from './problemMapping.js';

/** Rows decoded per read: bounds memory on large files while keeping hyparquet's calls few. */
const CHUNK_ROWS = 1000;

/**
 * Reads a Parquet problem file (hyparquet) as `Result<Problem>`s in row order, `CHUNK_ROWS` rows
 * at a time. A bad row is a failed Result naming its 1-based row number.
 */
export async function* readParquetProblems(path: string, mapping: ProblemFieldMapping): AsyncGenerator<Result<Problem>> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const total = Number(metadata.num_rows);
  for (let start = 0; start < total; start += CHUNK_ROWS) {
    const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: Math.min(total, start + CHUNK_ROWS) });
    for (let i = 0; i < rows.length; i++) yield rowToProblem(rows[i], mapping, `${path} row ${start + i + 1}`);
  }
}

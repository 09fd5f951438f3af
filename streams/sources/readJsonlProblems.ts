import type { Result } from '../../operators/common/result.js';
import type { Problem } from '../../schemas/problem.js';
import type { ProblemFieldMapping } from './problemMapping.js';
import { readJsonlRows, type SourceReadOptions, type SourceRow } from './sourceRows.js';

/**
 * Reads a JSONL problem file line by line (constant memory) as `Result<Problem>`s in file order.
 * A bad line is a failed Result naming its line number, with the line's original bytes as its
 * `input` ({@link SourceRow}); blank lines are skipped. `readJsonlRows` also yields the bytes of
 * good rows.
 *
 * @example for await (const r of readJsonlProblems('math500.jsonl', PROBLEM_PRESETS.math500)) ...
 */
export async function* readJsonlProblems(path: string, mapping: ProblemFieldMapping, options: SourceReadOptions = {}): AsyncGenerator<Result<Problem, SourceRow>> {
  for await (const { row, result } of readJsonlRows(path, mapping, options)) yield result.ok ? result : { ok: false, error: result.error, input: row };
}

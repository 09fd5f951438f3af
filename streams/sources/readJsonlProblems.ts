import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AppError } from '../../operators/common/errors.js';
import { fail, type Result } from '../../operators/common/result.js';
import type { Problem } from '../../schemas/problem.js';
import { rowToProblem, type ProblemFieldMapping } from './problemMapping.js';

/**
 * Reads a JSONL problem file line by line (constant memory) as `Result<Problem>`s in file order.
 * A bad line is a failed Result naming its line number; blank lines are skipped.
 *
 * @example for await (const r of readJsonlProblems('math500.jsonl', PROBLEM_PRESETS.math500)) ...
 */
export async function* readJsonlProblems(path: string, mapping: ProblemFieldMapping): AsyncGenerator<Result<Problem>> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim().length === 0) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      yield fail(new AppError('decode', `${path} line ${n}: invalid JSON (${e instanceof Error ? e.message : String(e)})`), line);
      continue;
    }
    yield rowToProblem(row, mapping, `${path} line ${n}`);
  }
}

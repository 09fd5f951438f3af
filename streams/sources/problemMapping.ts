import { AppError } from '../../operators/common/errors.js';
import { stableId } from '../../operators/common/hash.js';
import { fail, ok, type Result } from '../../operators/common/result.js';
import { extractAnswer } from '../../operators/verify/math/extract.js';
import { Problem } from '../../schemas/problem.js';

/**
 * How the fields of a source row map onto a `Problem`. Field names are the row's keys. Either
 * `answer` or `solution` must give the gold answer (from a solution it is extracted: last
 * `\boxed{}`, GSM8K `#### n`, ...).
 */
export interface ProblemFieldMapping {
  /** Source name: recorded as `Problem.source` and part of every id. */
  readonly source: string;
  readonly question: string;
  readonly answer?: string;
  readonly solution?: string;
  /** Row field holding the source's own id; without it the question text keys the id. */
  readonly id?: string;
  /** Integer difficulty field (MATH: `level`). */
  readonly difficulty?: string;
  /** Extra fields copied into `meta_json`. */
  readonly meta?: readonly string[];
  /** Defaults to `math`. */
  readonly domain?: string;
}

/** Presets for the files in `shared/datasets/` (see its README for the fields). */
export const PROBLEM_PRESETS = {
  math500: { source: 'math500', question: 'problem', answer: 'answer', solution: 'solution', id: 'unique_id', difficulty: 'level', meta: ['subject', 'level', 'unique_id'] },
  aime: { source: 'aime24', question: 'problem', answer: 'answer', solution: 'solution', id: 'id', meta: ['id', 'url'] },
  amc: { source: 'amc23', question: 'question', answer: 'answer', id: 'id', meta: ['id', 'url'] },
  gsm8k: { source: 'gsm8k', question: 'question', solution: 'answer', id: 'idx', meta: ['idx'] },
} as const satisfies Readonly<Record<string, ProblemFieldMapping>>;

/** Name of a built-in preset. */
export type ProblemPreset = keyof typeof PROBLEM_PRESETS;

/** True when `name` is a preset name. */
export function isProblemPreset(name: string): name is ProblemPreset {
  return Object.hasOwn(PROBLEM_PRESETS, name);
}

/**
 * Maps one decoded row to a Problem. `where` names the row (`line 12`, `row 7`) in the failure
 * reason, so a bad row can be found in its file.
 */
export function rowToProblem(row: unknown, mapping: ProblemFieldMapping, where: string): Result<Problem> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return fail(new AppError('schema', `${where}: not a JSON object`), row);
  const r = row as Record<string, unknown>;
  const question = asText(r[mapping.question]);
  if (question === null || question.trim().length === 0) return fail(new AppError('schema', `${where}: missing question field "${mapping.question}"`), row);
  const solution = mapping.solution === undefined ? null : asText(r[mapping.solution]);
  let answer = mapping.answer === undefined ? null : asText(r[mapping.answer]);
  if ((answer === null || answer.trim().length === 0) && solution !== null) answer = extractAnswer(solution)?.answer ?? null;
  if (answer === null || answer.trim().length === 0) return fail(new AppError('schema', `${where}: no answer in "${mapping.answer ?? mapping.solution ?? '?'}"`), row);
  const ownId = mapping.id === undefined ? null : asText(r[mapping.id]);
  const meta = Object.fromEntries((mapping.meta ?? []).filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
  const difficulty = mapping.difficulty === undefined ? undefined : r[mapping.difficulty];
  const candidate = {
    id: stableId('problem', mapping.source, ownId ?? question),
    domain: mapping.domain ?? 'math',
    source: mapping.source,
    question,
    answer: answer.trim(),
    ...(solution === null ? {} : { solution }),
    ...(typeof difficulty === 'number' && Number.isInteger(difficulty) ? { difficulty } : {}),
    ...(Object.keys(meta).length > 0 ? { meta_json: JSON.stringify(meta) } : {}),
  };
  const parsed = Problem.safeParse(candidate);
  if (!parsed.success) return fail(new AppError('schema', `${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`), row);
  return ok(parsed.data);
}

// Numbers become answers too (AMC stores 27.0); integral floats lose their `.0`.
function asText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return Number.isInteger(v) ? String(Math.trunc(v)) : String(v);
  if (typeof v === 'bigint') return v.toString();
  return null;
}

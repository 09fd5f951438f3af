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

/** How a command names the fields of a problem file: a preset, field names, or both (fields win). */
export interface FieldFlags {
  readonly preset?: string | undefined;
  readonly question?: string | undefined;
  readonly answer?: string | undefined;
  readonly solution?: string | undefined;
  readonly id?: string | undefined;
  /** Recorded as `Problem.source` (and part of every id) instead of the preset's or the file's name. */
  readonly sourceName?: string | undefined;
}

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The field mapping of a problem file, shared by `run` and `source`: `--preset` (else the preset
 * whose name starts the file name: math500.jsonl → math500), with `--question`, `--answer`,
 * `--solution`, `--id` overriding its fields; without a preset, `--question` and one of
 * `--answer`/`--solution` are needed and the source is named after the file. `--source-name`
 * names the source either way. A mapping that cannot be made is a `config` AppError.
 */
export function mappingFor(file: string, flags: FieldFlags): ProblemFieldMapping {
  const names = Object.keys(PROBLEM_PRESETS).join(', ');
  if (flags.preset !== undefined && !isProblemPreset(flags.preset)) throw new AppError('config', `unknown --preset ${JSON.stringify(flags.preset)}; presets: ${names}`);
  if (flags.sourceName !== undefined && !SOURCE_NAME.test(flags.sourceName)) throw new AppError('config', `--source-name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(flags.sourceName)}`);
  const fileName = file.split('/').pop() ?? file;
  const base = fileName.toLowerCase();
  const preset: ProblemFieldMapping | undefined =
    flags.preset !== undefined
      ? PROBLEM_PRESETS[flags.preset as ProblemPreset]
      : flags.question !== undefined
        ? undefined
        : Object.entries(PROBLEM_PRESETS).find(([key, m]) => base.startsWith(key) || base.startsWith(m.source))?.[1];
  if (preset === undefined && (flags.question === undefined || (flags.answer === undefined && flags.solution === undefined))) {
    throw new AppError('config', `cannot tell the fields of ${file}: pass --preset (${names}), or --question and --answer/--solution field names`);
  }
  const fileSource = fileName.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'file';
  return {
    ...(preset ?? { source: fileSource, question: flags.question as string }),
    ...(flags.question === undefined ? {} : { question: flags.question }),
    ...(flags.answer === undefined ? {} : { answer: flags.answer }),
    ...(flags.solution === undefined ? {} : { solution: flags.solution }),
    ...(flags.id === undefined ? {} : { id: flags.id }),
    ...(flags.sourceName === undefined ? {} : { source: flags.sourceName }),
  };
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

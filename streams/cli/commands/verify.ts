import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import { AppError } from '../../../operators/common/errors.js';
import { configHash } from '../../../operators/common/hash.js';
import { judgeAnswer } from '../../../operators/verify/math/judge.js';
import { DEFAULT_MATH_VERIFIER_CONFIG, MATH_VERIFIER_NAME, MATH_VERIFIER_VERSION, settleWithCas, type CasRunner } from '../../../operators/verify/math/mathVerifier.js';
import { CasPool } from '../../verifier/casPool.js';

const VERIFIER = `${MATH_VERIFIER_NAME}@${MATH_VERIFIER_VERSION}`;
const CONFIG_HASH = configHash(DEFAULT_MATH_VERIFIER_CONFIG);

/** One verdict as printed by `verify` (a JSON object; `--pairs` adds the input's other fields). */
export interface VerifyLine {
  readonly correct: boolean;
  readonly gold_extracted: string | null;
  readonly pred_extracted: string | null;
  readonly gold_normalized: string | null;
  readonly pred_normalized: string | null;
  /** The check that decided: `string`, `numeric`, `sampling`, `structure`, `cas`, `timeout`, `no-answer`, ... */
  readonly method: string;
  readonly verifier: string;
  readonly config_hash: string;
}

/**
 * Judges one (gold, pred) pair of texts, each a bare answer or a whole solution, exactly as the
 * math verifier does: inline checks, then `cas` (a worker pool, bounded) when only a CAS can tell.
 */
export async function verifyPair(gold: string, pred: string, cas?: CasRunner): Promise<VerifyLine> {
  const j = await settleWithCas(judgeAnswer(gold, pred, DEFAULT_MATH_VERIFIER_CONFIG), DEFAULT_MATH_VERIFIER_CONFIG, cas);
  return {
    correct: j.correct,
    gold_extracted: j.gold?.answer ?? null,
    pred_extracted: j.pred?.answer ?? null,
    gold_normalized: j.goldNormalized,
    pred_normalized: j.predNormalized,
    method: j.method,
    verifier: VERIFIER,
    config_hash: CONFIG_HASH,
  };
}

/**
 * Verifies every line `{"gold": ..., "pred": ...}` of a JSONL file, writing one JSON line per
 * input line in order (extra fields passed through). A malformed line yields
 * `{"line": n, "error": reason}` and the file goes on. Stops early, without error, when the
 * output is closed (`verify --pairs f | head -3`). Returns counts.
 */
export async function verifyPairsFile(input: string, out: Writable, cas?: CasRunner): Promise<{ lines: number; correct: number; errors: number }> {
  await access(input, constants.R_OK).catch((error: unknown) => {
    throw new AppError('config', `verify: cannot read --pairs file ${input}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  });
  const rl = createInterface({ input: createReadStream(input, { encoding: 'utf8' }), crlfDelay: Infinity });
  const counts = { lines: 0, correct: 0, errors: 0 };
  const sink = lineSink(out);
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      if (line.trim().length === 0) continue;
      counts.lines++;
      const row = parseLine(line);
      let record: Record<string, unknown>;
      if (typeof row === 'string') {
        counts.errors++;
        record = { line: n, error: `line ${n}: ${row}` };
      } else {
        const verdict = await verifyPair(row.gold, row.pred, cas);
        if (verdict.correct) counts.correct++;
        record = { ...row.rest, gold: row.gold, pred: row.pred, ...verdict };
      }
      if (!(await sink(`${JSON.stringify(record)}\n`))) break;
    }
  } finally {
    rl.close();
  }
  return counts;
}

/**
 * Writes lines with backpressure (a huge file never buffers all its output); resolves false once
 * the reader has gone away (EPIPE), so the caller stops instead of dying on the write error.
 */
function lineSink(out: Writable): (line: string) => Promise<boolean> {
  let broken = false;
  let failure: Error | null = null;
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') broken = true;
    else failure = error;
  });
  return async (line) => {
    if (failure !== null) throw failure;
    if (broken || out.destroyed) return false;
    // `once` rejects on 'error'; the listener above already recorded it.
    if (!out.write(line)) await Promise.race([once(out, 'drain'), once(out, 'close')]).catch(() => undefined);
    if (failure !== null) throw failure;
    return !broken && !out.destroyed;
  };
}

function parseLine(line: string): { gold: string; pred: string; rest: Record<string, unknown> } | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `invalid JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const { gold, pred, ...rest } = v as Record<string, unknown>;
  const text = (x: unknown): string | null => (typeof x === 'string' ? x : typeof x === 'number' && Number.isFinite(x) ? String(x) : null);
  const g = text(gold);
  const p = text(pred);
  if (g === null) return 'missing or non-string "gold"';
  if (p === null) return 'missing or non-string "pred"';
  return { gold: g, pred: p, rest };
}

/** `astro-stream verify`: judge one pair (`--gold/--pred`) or a JSONL file of pairs (`--pairs`). */
export function createVerifyCommand(): Command {
  return new Command('verify')
    .description(`Judge math answers with the ${VERIFIER} verifier (texts may be bare answers or whole solutions)`)
    .option('--gold <text>', 'gold answer or solution')
    .option('--pred <text>', 'predicted answer or solution')
    .option('--pairs <file>', 'JSONL file of {"gold": ..., "pred": ...} lines (other fields passed through)')
    .option('--out <file>', 'write --pairs results here instead of stdout')
    .action(async (opts: { gold?: string; pred?: string; pairs?: string; out?: string }) => {
      if (opts.pairs === undefined && (opts.gold === undefined || opts.pred === undefined)) throw new AppError('config', 'verify: give --gold and --pred, or --pairs FILE');
      const pool = new CasPool();
      try {
        if (opts.pairs === undefined) {
          process.stdout.write(`${JSON.stringify(await verifyPair(opts.gold ?? '', opts.pred ?? '', pool))}\n`);
          return;
        }
        const out = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
        const counts = await verifyPairsFile(opts.pairs, out, pool);
        if (out !== process.stdout) {
          out.end();
          await once(out, 'finish');
        }
        const timeouts = pool.stats().timeouts;
        process.stderr.write(`verify: ${counts.lines} lines, ${counts.correct} correct, ${counts.errors} malformed${timeouts > 0 ? `, ${timeouts} timed out` : ''}\n`);
      } finally {
        await pool.close();
      }
    });
}

import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import { compareAnswers, DEFAULT_COMPARE_CONFIG } from '../../../operators/verify/math/compare.js';
import { extractAnswer } from '../../../operators/verify/math/extract.js';
import { createCas, type Cas } from '../../../operators/verify/math/symbolic.js';
import { MATH_VERIFIER_NAME, MATH_VERIFIER_VERSION } from '../../../operators/verify/math/mathVerifier.js';
import { configHash } from '../../../operators/common/hash.js';

const VERIFIER = `${MATH_VERIFIER_NAME}@${MATH_VERIFIER_VERSION}`;
const CONFIG_HASH = configHash(DEFAULT_COMPARE_CONFIG);

/** One verdict as printed by `verify` (a JSON object; `--pairs` adds the input's other fields). */
export interface VerifyLine {
  readonly correct: boolean;
  readonly gold_extracted: string | null;
  readonly pred_extracted: string | null;
  readonly gold_normalized: string | null;
  readonly pred_normalized: string | null;
  readonly method: string;
  readonly verifier: string;
  readonly config_hash: string;
}

/** Judges one (gold, pred) pair of texts: each may be a bare answer or a whole solution. */
export function verifyPair(gold: string, pred: string, cas: Cas): VerifyLine {
  const g = extractAnswer(gold);
  const p = extractAnswer(pred);
  const base = { verifier: VERIFIER, config_hash: CONFIG_HASH, gold_extracted: g?.answer ?? null, pred_extracted: p?.answer ?? null };
  if (g === null || p === null) return { ...base, correct: false, gold_normalized: null, pred_normalized: null, method: 'no-answer' };
  const c = compareAnswers(g.answer, p.answer, DEFAULT_COMPARE_CONFIG, { cas });
  return { ...base, correct: c.equal, gold_normalized: c.goldNormalized, pred_normalized: c.predNormalized, method: c.method };
}

/**
 * Verifies every line `{"gold": ..., "pred": ...}` of a JSONL file, writing one JSON line per
 * input line in order (extra fields passed through). A malformed line yields
 * `{"line": n, "error": reason}` and the file goes on. Returns counts.
 */
export async function verifyPairsFile(input: string, out: Writable): Promise<{ lines: number; correct: number; errors: number }> {
  const cas = createCas();
  const rl = createInterface({ input: createReadStream(input, { encoding: 'utf8' }), crlfDelay: Infinity });
  const counts = { lines: 0, correct: 0, errors: 0 };
  let n = 0;
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
      const verdict = verifyPair(row.gold, row.pred, cas);
      if (verdict.correct) counts.correct++;
      record = { ...row.rest, gold: row.gold, pred: row.pred, ...verdict };
    }
    // Respect backpressure so a huge file never buffers all its output in memory.
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
  }
  return counts;
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
    .action(async (opts: { gold?: string; pred?: string; pairs?: string; out?: string }, cmd: Command) => {
      if (opts.pairs !== undefined) {
        const out = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
        const counts = await verifyPairsFile(opts.pairs, out);
        if (out !== process.stdout) {
          out.end();
          await once(out, 'finish');
        }
        process.stderr.write(`verify: ${counts.lines} lines, ${counts.correct} correct, ${counts.errors} malformed\n`);
        return;
      }
      if (opts.gold === undefined || opts.pred === undefined) cmd.error('verify: give --gold and --pred, or --pairs FILE');
      process.stdout.write(`${JSON.stringify(verifyPair(opts.gold ?? '', opts.pred ?? '', createCas()))}\n`);
    });
}

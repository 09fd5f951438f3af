import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countdownPrompt } from '../../domains/countdown/index.js';
import { generateCountdownProblems } from '../../domains/countdown/generator.js';
import { AppError } from '../../operators/common/errors.js';
import { STEP_DELIMITER } from '../../operators/mcts/policy.js';
import { LLAMA3_TEMPLATE, renderPrompt } from '../policies/openai/promptTemplate.js';
import { withDirLock } from './dirLock.js';

/** The model id llama-server serves the tiny model under (a Llama-3 family name, so the policy picks the Llama-3 prompt format). */
export const TINY_MODEL_ALIAS = 'astro-tiny-llama3';

// Copies of each answer without its prompt in the corpus.
const ANSWER_COPIES = 4;

/** Where the tiny model is made and cached. */
export interface TinyModelConfig {
  /** Cache root (`defaultCacheRoot`); the model goes to `<root>/models/`. */
  readonly cacheRoot: string;
  /** `deploy/llama/tiny_model.py` of this checkout. */
  readonly script: string;
  /** Python with the packages of `deploy/llama/requirements.txt`. Default python3. */
  readonly python?: string;
  /** Countdown problems per difficulty (3–6 numbers) in the corpus. Default 500. */
  readonly problemsPerDifficulty?: number;
}

/**
 * The corpus of the tiny model: Countdown dialogues in exactly the text the openai policy sends
 * and expects (Llama-3 chat markup, the Countdown prompt, `Step k:` paragraphs of the generator's
 * constructions, `<|eot_id|>` after the answer), one JSON line per dialogue.
 */
export function tinyModelCorpus(problemsPerDifficulty: number): string {
  const lines: string[] = [];
  for (const numbers of [3, 4, 5, 6]) {
    for (const problem of generateCountdownProblems({ count: problemsPerDifficulty, seed: 1, numbers })) {
      const steps = (problem.solution ?? '').split(STEP_DELIMITER).filter((s) => s.length > 0);
      const dialogue = renderPrompt(LLAMA3_TEMPLATE, countdownPrompt(problem), steps).replace(/\n\n$/, '');
      lines.push(JSON.stringify({ text: `${dialogue}<|eot_id|>` }));
      // The prompt's instructions repeat in every dialogue and would dominate the bigram counts;
      // the answers again on their own make what follows a blank line mostly a step.
      const answer = JSON.stringify({ text: `${steps.join(STEP_DELIMITER)}<|eot_id|>` });
      for (let copy = 0; copy < ANSWER_COPIES; copy++) lines.push(answer);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Makes (once) and returns the tiny Llama GGUF of `deploy/llama/tiny_model.py`: a tokenizer and
 * bigram-fitted weights from {@link tinyModelCorpus}. Cached under a hash of the script and the
 * corpus, so a change to either makes a new file; concurrent callers share one make (lock).
 */
export async function ensureTinyModel(config: TinyModelConfig): Promise<string> {
  const corpus = tinyModelCorpus(config.problemsPerDifficulty ?? 500);
  const key = createHash('sha256').update(readFileSync(config.script)).update(corpus).digest('hex').slice(0, 12);
  const dir = join(config.cacheRoot, 'models');
  const file = join(dir, `${TINY_MODEL_ALIAS}-${key}.gguf`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  return withDirLock(`${file}.lock`, {}, async () => {
    if (existsSync(file)) return file;
    const corpusFile = join(dir, `${TINY_MODEL_ALIAS}-${key}.corpus.jsonl`);
    writeFileSync(corpusFile, corpus);
    try {
      await runPython(config.python ?? 'python3', [config.script, '--corpus', corpusFile, '--out', file, '--name', TINY_MODEL_ALIAS]);
    } finally {
      rmSync(corpusFile, { force: true });
    }
    if (!existsSync(file)) throw new AppError('internal', `${config.script} finished without writing ${file}`);
    return file;
  });
}

function runPython(python: string, args: readonly string[]): Promise<void> {
  return new Promise((ok, ko) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (error) => ko(new AppError('config', `cannot run ${python}: ${error.message}`, { cause: error })));
    child.on('close', (code) => {
      if (code === 0) ok();
      else {
        const missing = /No module named '?([\w.]+)/.exec(output)?.[1];
        const hint = missing === undefined ? '' : ` (Python package ${missing} missing: pip install -r deploy/llama/requirements.txt)`;
        ko(new AppError('config', `making the tiny model failed${hint}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
      }
    });
  });
}

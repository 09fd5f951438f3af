import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from './cli.js';

/** The Python trainer consumer's folder (run with `python -m astro_lm` from there). */
export const LM_DIR = join(REPO_ROOT, 'streams', 'trainer', 'lm');
export const PYTHON = process.env.PYTHON ?? 'python3';

/** What one `python -m astro_lm …` printed and returned. */
export interface Py {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `python -m astro_lm ARGS` (10 min at most: tiny budgets, but a busy machine). */
export function astroLm(args: readonly string[]): Py {
  const r = spawnSync(PYTHON, ['-m', 'astro_lm', ...args], { cwd: LM_DIR, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Expects exit 0 (the stderr's end as the message otherwise) and returns the JSON it printed. */
export function ok(r: Py): Record<string, unknown> {
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Runs a Python snippet next to `astro_lm` and returns the JSON it printed. */
export function python(code: string, ...args: string[]): unknown {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { cwd: LM_DIR, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr.slice(-3000)).toBe(0);
  return JSON.parse(r.stdout);
}

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../models/paths.js';
import { isAlive } from '../common/localProcesses.js';
import { defaultCacheRoot, ensureLlamaServer, type LlamaBuildProgress } from './llamaBuild.js';
import { stopLlamaServer } from './llamaServer.js';

/**
 * Slots a server needs so that no request of a run waits for another of the same state: the
 * largest `n` the search asks for (k step samples, M rollouts, N self-evaluation judgments).
 */
export function slotsFor(search: { readonly k: number; readonly rollouts: number }, judgments?: number): number {
  return Math.max(search.k, search.rollouts, judgments ?? 1);
}

/** `deploy/llama/tiny_model.py` of this package. */
export function tinyModelScript(): string {
  return join(packageRoot(), 'deploy', 'llama', 'tiny_model.py');
}

/**
 * A build progress line, or null when it would repeat the last one: compile steps print at most
 * once per whole percent, so a log (CI) gets ~100 lines for a build and a terminal a moving count.
 */
export function formatBuildProgress(): (p: LlamaBuildProgress) => string | null {
  let lastPercent = -1;
  return (p) => {
    if (p.phase !== 'compile') return `[llm] ${p.phase}: ${p.message}`;
    if (p.done === undefined || p.total === undefined || p.total === 0) return null;
    const percent = Math.floor((100 * p.done) / p.total);
    if (percent === lastPercent) return null;
    lastPercent = percent;
    return `[llm] building llama-server ${p.done}/${p.total} (${percent}%) ${p.message.replace(/^Building \S+ object /, '')}`;
  };
}

/**
 * What `--serve-gguf` needs: the pinned llama-server (built into the cache on first use, progress
 * on stderr), a state directory of this process under `.llm/served/`, and slots for the search.
 */
export function servedPolicyEnv(search: { readonly k: number; readonly rollouts: number }, env: Readonly<Record<string, string | undefined>>): { llamaServer: () => Promise<string>; dir: string; slots: number } {
  return {
    llamaServer: async () => {
      const reaped = await reapOrphanServers(SERVED_ROOT);
      if (reaped > 0) process.stderr.write(`[llm] stopped ${reaped} llama-server(s) left by runs that died\n`);
      const line = formatBuildProgress();
      const build = await ensureLlamaServer({ cacheRoot: defaultCacheRoot(env) }, (p) => {
        const text = line(p);
        if (text !== null) process.stderr.write(`${text}\n`);
      });
      return build.server;
    },
    dir: resolve(SERVED_ROOT, String(process.pid)),
    slots: slotsFor(search),
  };
}

/** Where `--serve-gguf` runs keep their servers' state: `<cwd>/.llm/served/<run pid>/<version>/`. */
export const SERVED_ROOT = join('.llm', 'served');

/**
 * Stops the llama-servers of runs that died without stopping them (SIGKILL, a second Ctrl-C):
 * every `<root>/<pid>/` whose pid is not alive has its servers stopped (only processes that are
 * still our llama-server on the recorded port) and is removed. Returns how many servers it stopped.
 */
export async function reapOrphanServers(root: string): Promise<number> {
  let stopped = 0;
  for (const entry of existsSync(root) ? readdirSync(root) : []) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    const runDir = join(root, entry);
    for (const version of readdirSync(runDir)) if (await stopLlamaServer(join(runDir, version))) stopped += 1;
    rmSync(runDir, { recursive: true, force: true });
  }
  return stopped;
}


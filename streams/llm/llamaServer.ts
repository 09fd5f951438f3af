import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { freeLoopbackPorts, isAlive, killAndWait } from '../common/localProcesses.js';

/** How to start `llama-server`. */
export interface LlamaServerOptions {
  /** The `llama-server` binary (`ensureLlamaServer(...).server`). */
  readonly server: string;
  /** A GGUF model file. */
  readonly model: string;
  /** Where the pid, state and log files live. */
  readonly dir: string;
  /** Default: a free port. */
  readonly port?: number;
  /** Parallel slots (`-np`): how many sequences decode at once, and the largest `n` of one request. */
  readonly slots: number;
  /** Context of one slot in tokens (prompt plus completion); `-c` is slots × this. */
  readonly ctxPerSlot: number;
  /** CPU threads for generation (default: llama.cpp's choice). */
  readonly threads?: number;
  /** The model id the server lists and answers to (default: the file name without `.gguf`). */
  readonly alias?: string;
  /** Keep running after this process exits (`llm up`). Default false. */
  readonly detached?: boolean;
  /** Give up waiting for `/health` after this long (ms). Default 120 000. */
  readonly readyTimeoutMs?: number;
  /** More llama-server arguments, appended last. */
  readonly extraArgs?: readonly string[];
}

/** What `llm up` recorded about the server it started (`<dir>/server.json`). */
export interface LlamaServerState {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>/v1`, for `run --base-url`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly alias: string;
  readonly slots: number;
  readonly ctxPerSlot: number;
  readonly args: readonly string[];
  readonly startedAt: string;
  readonly log: string;
}

/** A started server: its state, and how to stop it. */
export interface RunningLlamaServer extends LlamaServerState {
  /** SIGTERM (SIGKILL after 30 s, or at once with `SIGKILL`), then wait until it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const STATE_FILE = 'server.json';

/**
 * Starts `llama-server` on 127.0.0.1 and resolves once `GET /health` answers 200 (the model is
 * loaded). The server's output goes to `<dir>/llama-server.log`; its pid and settings to
 * `<dir>/server.json`, which {@link llamaServerStatus} and {@link stopLlamaServer} read. A server
 * this directory started before is stopped first. Fails with the log's tail if it exits early.
 */
export async function startLlamaServer(options: LlamaServerOptions): Promise<RunningLlamaServer> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  await stopLlamaServer(dir);
  if (!existsSync(options.model)) throw new AppError('config', `model file ${options.model} does not exist`);
  if (!Number.isInteger(options.slots) || options.slots < 1) throw new AppError('config', `slots must be a positive integer, got ${options.slots}`);
  const port = options.port ?? ((await freeLoopbackPorts(1))[0]!);
  const alias = options.alias ?? basename(options.model).replace(/\.gguf$/i, '');
  const args = [
    '--model', resolve(options.model), '--alias', alias, '--host', '127.0.0.1', '--port', String(port),
    '--parallel', String(options.slots), '--ctx-size', String(options.slots * options.ctxPerSlot),
    // Prometheus counters (tokens predicted, requests): what benchmarks and tests compare with.
    '--metrics', '--no-ui',
    ...(options.threads === undefined ? [] : ['--threads', String(options.threads)]),
    ...(options.extraArgs ?? []),
  ];
  const log = join(dir, 'llama-server.log');
  const fd = openSync(log, 'a');
  let pid: number;
  try {
    const child = spawn(options.server, args, { cwd: dir, stdio: ['ignore', fd, fd], detached: options.detached ?? false });
    // Readiness polling sees a process that never started and reports the log.
    child.on('error', () => undefined);
    child.unref();
    pid = child.pid ?? 0;
  } finally {
    closeSync(fd);
  }
  if (pid === 0) throw new AppError('config', `could not start ${options.server}`);
  const state: LlamaServerState = { pid, port, baseUrl: `http://127.0.0.1:${port}/v1`, model: resolve(options.model), alias, slots: options.slots, ctxPerSlot: options.ctxPerSlot, args, startedAt: new Date().toISOString(), log };
  writeFileSync(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  try {
    await waitHealthy(state, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    await stopLlamaServer(dir);
    throw error;
  }
  return { ...state, stop: (signal?: NodeJS.Signals) => killAndWait(pid, signal) };
}

/** What {@link llamaServerStatus} reports. */
export interface LlamaServerStatus {
  readonly state: LlamaServerState;
  /** The recorded process is alive and is our llama-server. */
  readonly running: boolean;
  /** `GET /health` answered 200 (checked only when running). */
  readonly healthy: boolean;
}

/** The server last started in `dir`, whether it runs and answers, or null if none was started there. */
export async function llamaServerStatus(dir: string): Promise<LlamaServerStatus | null> {
  const state = readState(resolve(dir));
  if (state === null) return null;
  const running = isOurServer(state.pid, state.port);
  return { state, running, healthy: running && (await health(state.port)) === 200 };
}

/** Stops the server started in `dir` (SIGTERM, SIGKILL after 30 s); a pid that is no longer our server is left alone. Safe when nothing runs. */
export async function stopLlamaServer(dir: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const root = resolve(dir);
  const state = readState(root);
  if (state === null) return false;
  if (!isOurServer(state.pid, state.port)) return false;
  await killAndWait(state.pid, signal);
  return true;
}

async function waitHealthy(state: LlamaServerState, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!isAlive(state.pid)) throw new AppError('transport', `llama-server exited during startup:\n${logTail(state.log)}`);
    if ((await health(state.port)) === 200) return;
    if (performance.now() > deadline) throw new AppError('timeout', `llama-server not healthy after ${timeoutMs} ms:\n${logTail(state.log)}`, { retriable: true });
    await sleep(100);
  }
}

/** HTTP status of `GET /health` (503 while the model loads), or 0 when nothing answers. */
async function health(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

function readState(dir: string): LlamaServerState | null {
  try {
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as LlamaServerState;
    return typeof state.pid === 'number' && typeof state.port === 'number' ? state : null;
  } catch {
    return null;
  }
}

/** Guards against signalling an unrelated process that reused a stale pid. */
function isOurServer(pid: number, port: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (argv[0] ?? '').endsWith('llama-server') && argv.includes(String(port));
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Removes the state of a stopped server (so `status` says none was started). */
export function forgetLlamaServer(dir: string): void {
  rmSync(join(resolve(dir), STATE_FILE), { force: true });
}

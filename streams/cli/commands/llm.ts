import { resolve } from 'node:path';
import { Command } from 'commander';
import { AppError } from '../../../operators/common/errors.js';
import { defaultCacheRoot, ensureLlamaServer, ensureTinyModel, formatBuildProgress, llamaServerStatus, slotsFor, startLlamaServer, stopLlamaServer, TINY_MODEL_ALIAS, tinyModelScript, type LlamaBuild } from '../../llm/index.js';
import { intFlag, parseRunConfig, readConfigFile } from '../runConfig.js';
import { topologyConfigOf } from '../topologyConfig.js';

const DEFAULT_DIR = '.llm/run';
const DEFAULT_CTX_PER_SLOT = 4096;

interface UpFlags {
  readonly model?: string;
  readonly tiny?: boolean;
  readonly slots?: number;
  readonly k?: number;
  readonly rollouts?: number;
  readonly config?: string;
  readonly ctxPerSlot: number;
  readonly port?: number;
  readonly threads?: number;
  readonly alias?: string;
  readonly dir: string;
  readonly cacheDir?: string;
}

/** The cache root: `--cache-dir`, else `${XDG_CACHE_HOME:-~/.cache}/astro-stream`. */
function cacheRootOf(flag: string | undefined): string {
  return flag === undefined ? defaultCacheRoot(process.env) : resolve(flag);
}

/** Builds (or finds) llama-server, printing build progress on stderr. */
async function build(cacheRoot: string): Promise<LlamaBuild> {
  const line = formatBuildProgress();
  const started = performance.now();
  const result = await ensureLlamaServer({ cacheRoot }, (p) => {
    const text = line(p);
    if (text !== null) process.stderr.write(`${text}\n`);
  });
  if (result.built) process.stderr.write(`[llm] llama-server built in ${Math.round((performance.now() - started) / 1000)} s: ${result.server}\n`);
  return result;
}

/**
 * llama-server's own Prometheus endpoint (`llamacpp:*` families; it is started with `--metrics`):
 * the engine's side of `astro_policy_*` is scraped there rather than relayed through this process,
 * which exits once the server is up.
 */
function metricsUrlOf(baseUrl: string): string {
  return new URL('/metrics', baseUrl).href;
}

/** Slots: `--slots`, else the largest n of the run config (`--config`, `--k`, `--rollouts`; defaults k 8, M 16). */
function slotsOf(flags: UpFlags): number {
  if (flags.slots !== undefined) return flags.slots;
  const run = parseRunConfig({ ...(flags.config === undefined ? {} : readConfigFile(flags.config)) });
  const search = topologyConfigOf(run).search;
  return slotsFor({ k: flags.k ?? search.k, rollouts: flags.rollouts ?? search.rollouts }, run.selfEval?.judgments);
}

/**
 * `astro-stream llm build|up|down|status`: llama.cpp's `llama-server` for `run --policy openai`.
 * `up` builds it once per machine from the pinned source package (cached outside the checkout),
 * starts it detached on 127.0.0.1 with a slot per sample of the largest `n`, waits until the model
 * is loaded, and prints the base URL on stdout (the only line there, so scripts can capture it).
 */
export function createLlmCommand(): Command {
  const llm = new Command('llm').description("run llama.cpp's llama-server locally for --policy openai (built once from the pinned llama-cpp-python source package)");

  llm
    .command('build')
    .description('build llama-server if the cache does not have it (8–15 min on 2 idle cores); print its path')
    .option('--cache-dir <dir>', 'cache root (default ${XDG_CACHE_HOME:-~/.cache}/astro-stream)')
    .action(async (opts: { cacheDir?: string }) => {
      const result = await build(cacheRootOf(opts.cacheDir));
      process.stdout.write(`${result.server}\n`);
    });

  llm
    .command('up')
    .description('build if needed, start llama-server detached, wait until the model is loaded, print the base URL (…/v1); reuses a matching server already running in --dir')
    .option('--model <file>', 'GGUF model file to serve')
    .option('--tiny', `serve the project's tiny local model (${TINY_MODEL_ALIAS}: a Countdown tokenizer and bigram-fitted weights; made once, cached)`)
    .option('--slots <n>', 'parallel slots, -np (default: the largest n of the run: max(k, M, self-eval N))', intFlag('--slots'))
    .option('--k <n>', 'with the default --slots: candidate steps per expansion the runs will use (default 8)', intFlag('--k'))
    .option('--rollouts <n>', 'with the default --slots: rollouts per new child, M (default 16)', intFlag('--rollouts'))
    .option('--config <file>', 'with the default --slots: the run config file the runs will use')
    .option('--ctx-per-slot <tokens>', `context of one slot: prompt plus completion (default ${DEFAULT_CTX_PER_SLOT})`, intFlag('--ctx-per-slot'), DEFAULT_CTX_PER_SLOT)
    .option('--port <port>', 'port on 127.0.0.1 (default: a free one)', intFlag('--port'))
    .option('--threads <n>', 'CPU threads for generation (default: llama.cpp\'s)', intFlag('--threads'))
    .option('--alias <id>', 'model id the server answers to (default: the file name; tiny: astro-tiny-llama3)')
    .option('--dir <dir>', 'directory for the pid, state and log files', DEFAULT_DIR)
    .option('--cache-dir <dir>', 'cache root of the build and the tiny model (default ${XDG_CACHE_HOME:-~/.cache}/astro-stream)')
    .action(async (flags: UpFlags) => {
      if ((flags.model === undefined) === (flags.tiny !== true)) throw new AppError('config', 'llm up needs exactly one of --model FILE.gguf and --tiny');
      const cacheRoot = cacheRootOf(flags.cacheDir);
      const dir = resolve(flags.dir);
      const slots = slotsOf(flags);
      const { server } = await build(cacheRoot);
      const model = flags.model !== undefined ? resolve(flags.model) : await ensureTinyModel({ cacheRoot, script: tinyModelScript(), ...(process.env.PYTHON ? { python: process.env.PYTHON } : {}) });
      const alias = flags.alias ?? (flags.tiny === true ? TINY_MODEL_ALIAS : undefined);
      const current = await llamaServerStatus(dir);
      const same = current !== null && current.healthy && current.state.model === model && current.state.slots === slots && current.state.ctxPerSlot === flags.ctxPerSlot && (flags.port === undefined || current.state.port === flags.port);
      if (same) {
        // Idempotent: a second `up` (CI retry, another terminal) reuses the running server.
        process.stderr.write(`llm up: already running (pid ${current.state.pid}) in ${dir}\n`);
        process.stdout.write(`${current.state.baseUrl}\n`);
        return;
      }
      const started = performance.now();
      const running = await startLlamaServer({
        server, model, dir, slots, ctxPerSlot: flags.ctxPerSlot, detached: true,
        ...(flags.port === undefined ? {} : { port: flags.port }),
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        ...(alias === undefined ? {} : { alias }),
      });
      process.stderr.write(`llm up: ${running.alias} on ${slots} slots × ${flags.ctxPerSlot} tokens, pid ${running.pid}, ready in ${Math.round(performance.now() - started)} ms; metrics ${metricsUrlOf(running.baseUrl)}; log ${running.log}\n`);
      process.stdout.write(`${running.baseUrl}\n`);
    });

  llm
    .command('down')
    .description('stop the server started in --dir (SIGTERM, SIGKILL after 30 s)')
    .option('--dir <dir>', 'directory given to `llm up`', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      const stopped = await stopLlamaServer(resolve(opts.dir));
      process.stderr.write(`llm down: ${stopped ? 'stopped' : 'nothing running'} in ${resolve(opts.dir)}\n`);
    });

  llm
    .command('status')
    .description('say whether the server of --dir runs and answers; exit 0 when healthy, 1 otherwise')
    .option('--dir <dir>', 'directory given to `llm up`', DEFAULT_DIR)
    .option('--json', 'print the state as JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const status = await llamaServerStatus(resolve(opts.dir));
      if (opts.json === true) process.stdout.write(`${JSON.stringify(status === null ? { running: false } : { running: status.running, healthy: status.healthy, ...status.state, metricsUrl: metricsUrlOf(status.state.baseUrl) })}\n`);
      else if (status === null) process.stdout.write(`no server was started in ${resolve(opts.dir)}\n`);
      else {
        const { state } = status;
        const health = status.running ? (status.healthy ? 'running, healthy' : 'running, not answering /health') : 'not running';
        process.stdout.write(`${health}: ${state.baseUrl} pid ${state.pid}, model ${state.alias} (${state.model}), ${state.slots} slots × ${state.ctxPerSlot} tokens, since ${state.startedAt}; metrics ${metricsUrlOf(state.baseUrl)}; log ${state.log}\n`);
      }
      if (status?.healthy !== true) process.exitCode = 1;
    });

  return llm;
}

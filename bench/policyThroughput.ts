/**
 * Policy throughput benchmark: how close the pipeline's search keeps an OpenAI-compatible server
 * to its limit. The server is `astro-stream serve-policy --latency-ms L --max-concurrency C` in its
 * own process (the built-in ONNX Countdown policy behind emulated latency), so its limit is C/L
 * requests per second. Two clients in the same run:
 *   - baseline: one tree at a time, one request at a time (maxInFlight 1, sequential MCTS);
 *   - pipelined: many trees at once, several iterations per tree (virtual loss), k step samples
 *     and M rollouts per state each in one `n`-request, a global in-flight bound.
 * Achieved requests/s are measured from the server's own `GET /stats` over a steady window.
 *
 * usage: npx tsc -p tsconfig.json && node dist/bench/policyThroughput.js [latencyMs=200] [capacity=32] [windowS=15] [trees=24] [parallelIterations=4]
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { countdownDomain } from '../domains/countdown/index.js';
import { generateCountdownProblems } from '../domains/countdown/generator.js';
import { searchTreeParallel } from '../operators/mcts/parallelSearch.js';
import { searchTree } from '../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG } from '../operators/mcts/searchConfig.js';
import { packageRoot } from '../models/paths.js';
import { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, type OpenAiPolicy } from '../streams/policies/openai/index.js';

const [latencyMs = 200, capacity = 32, windowS = 15, trees = 24, parallelIterations = 4] = process.argv.slice(2).map(Number);
const warmupS = 3;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  readonly baseUrl: string;
  readonly statsUrl: string;
  stop(): void;
}

function startServer(): Promise<Server> {
  const root = packageRoot();
  const child = spawn(process.execPath, [join(root, 'bin', 'astro-stream.js'), 'serve-policy', '--port', '0', '--latency-ms', String(latencyMs), '--max-concurrency', String(capacity)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`serve-policy exited (${code})`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      const { baseUrl, port } = JSON.parse(out.split('\n')[0] ?? '{}') as { baseUrl: string; port: number };
      resolve({ baseUrl, statsUrl: `http://127.0.0.1:${port}/stats`, stop: () => child.kill('SIGTERM') });
    });
  });
}

async function served(server: Server): Promise<{ served: number; peak: number }> {
  const s = (await (await fetch(server.statsUrl)).json()) as { served: number; peak_concurrency: number };
  return { served: s.served, peak: s.peak_concurrency };
}

function client(server: Server, maxInFlight: number): OpenAiPolicy {
  return createOpenAiPolicy(
    { ...DEFAULT_OPENAI_POLICY_CONFIG, baseUrl: server.baseUrl, model: 'countdown-mlp', maxInFlight, timeoutMs: 60_000 },
    // Jitter only spreads retries; none are expected here.
    { promptOf: countdownDomain.prompt, clock: Date.now, sleep, random: () => 0.5 },
  );
}

/**
 * Keeps `trees` searches running (a finished tree is replaced by the next problem) until the
 * window ends; returns requests/s measured by the server over the window, after a warm-up.
 */
async function measure(server: Server, name: string, trees: number, parallel: number, maxInFlight: number): Promise<{ rps: number; peak: number; treesDone: number }> {
  const policy = client(server, maxInFlight);
  const problems = generateCountdownProblems({ count: 10_000, seed: 1 });
  const config = { ...DEFAULT_SEARCH_CONFIG, seed: 1 };
  let next = 0;
  let stop = false;
  let treesDone = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const problem = problems[next++ % problems.length];
      if (problem === undefined) return;
      const deps = { policy, verifier: countdownDomain.verifier, clock: Date.now };
      await (parallel > 1 ? searchTreeParallel(problem, { ...config, parallelIterations: parallel }, deps) : searchTree(problem, config, deps));
      treesDone += 1;
    }
  };
  const workers = Array.from({ length: trees }, () => worker());
  await sleep(warmupS * 1000);
  const a = await served(server);
  const t0 = performance.now();
  await sleep(windowS * 1000);
  const b = await served(server);
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  await policy.close?.();
  const rps = (b.served - a.served) / seconds;
  process.stderr.write(`${name}: ${rps.toFixed(1)} req/s over ${seconds.toFixed(1)} s, ${treesDone} trees\n`);
  return { rps, peak: b.peak, treesDone };
}

const server = await startServer();
try {
  const limit = capacity / (latencyMs / 1000);
  const baseline = await measure(server, 'baseline (1 tree, 1 request at a time)', 1, 1, 1);
  const treesOnly = await measure(server, `${trees} trees, sequential iterations`, trees, 1, 4 * capacity);
  const pipelined = await measure(server, `pipelined (${trees} trees × ${parallelIterations} iterations)`, trees, parallelIterations, 4 * capacity);
  const rows = [
    ['baseline: 1 tree, 1 request in flight', baseline.rps, baseline.rps / limit],
    [`${trees} trees, sequential iterations (rollouts of one expansion still concurrent), in-flight bound ${4 * capacity}`, treesOnly.rps, treesOnly.rps / limit],
    [`pipelined: ${trees} trees × ${parallelIterations} parallel iterations, in-flight bound ${4 * capacity}`, pipelined.rps, pipelined.rps / limit],
  ] as const;
  const command = `npx tsc -p tsconfig.json && node dist/bench/policyThroughput.js ${latencyMs} ${capacity} ${windowS} ${trees} ${parallelIterations}`;
  const table = [
    `Server: serve-policy, latency L = ${latencyMs} ms, capacity C = ${capacity} → limit C/L = ${limit.toFixed(1)} requests/s. Search: k = 8, M = 16, 32 iterations (paper budget). Window ${windowS} s after ${warmupS} s warm-up; requests counted by the server's GET /stats.`,
    '',
    '| client | requests/s | ÷ (C/L) |',
    '| --- | ---: | ---: |',
    ...rows.map(([n, rps, ratio]) => `| ${n} | ${rps.toFixed(1)} | ${ratio.toFixed(3)} |`),
    '',
    `Pipelined ÷ baseline: ${(pipelined.rps / baseline.rps).toFixed(1)}×. Target ≥ 0.9 of the limit: ${pipelined.rps / limit >= 0.9 ? 'met' : 'NOT met'}.`,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policyThroughput.md'), `# Policy throughput (issue #5)\n\nCommand: \`${command}\`\n\n${table}\n`);
} finally {
  server.stop();
}

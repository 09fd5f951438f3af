/**
 * Saturation against a real engine (issue #14): completion tokens/s that `astro-stream run
 * --policy openai` drives through llama.cpp's llama-server, against the peak of the same server
 * from a plain load generator, in the same run:
 *   1. `run` (the CLI, as a child process) on Countdown problems; tokens/s counted by the server
 *      (`/metrics` llamacpp:tokens_predicted_total) over a steady window after a warm-up; the
 *      client's CPU use over the window (/proc) and a V8 tick profile (`--prof`) say where its time goes;
 *   2. the load generator: the prompts of the states that run expanded and rolled out (read back
 *      from its trees), the same request bodies (n = k step samples with logprobs and the step
 *      stop, n = M rollouts), on keep-alive connections with enough requests in flight to fill
 *      every slot twice over; once with n as the search asks, once one choice per request (what
 *      the client sends to llama.cpp for exact token counts); the better of the two is the peak.
 * Server: the tiny model (`llm up --tiny`), so the engine's compute per token is small and the
 * client's overhead shows as much as it can.
 *
 * usage: npx tsc -p tsconfig.json && node dist/bench/llamaSaturation.js [slots=8] [windowS=30] [k=8] [M=8] [concurrency=8] [parallelIterations=4]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countdownPrompt } from '../domains/countdown/index.js';
import { generateCountdownProblems } from '../domains/countdown/generator.js';
import { STEP_DELIMITER } from '../operators/mcts/policy.js';
import { packageRoot } from '../models/paths.js';
import type { SearchTree } from '../schemas/searchTree.js';
import { defaultCacheRoot, ensureLlamaServer, ensureTinyModel, startLlamaServer, TINY_MODEL_ALIAS, tinyModelScript } from '../streams/llm/index.js';
import { LLAMA3_STOPS, LLAMA3_TEMPLATE, renderPrompt } from '../streams/policies/openai/promptTemplate.js';
import { readTreeArchive } from '../streams/sinks/treeArchiveSink.js';

const [slots = 8, windowS = 30, k = 8, rollouts = 8, concurrency = 8, parallelIterations = 4] = process.argv.slice(2).map(Number);
const warmupS = 10;
const MAX_STEP_TOKENS = 48;
const MAX_ROLLOUT_TOKENS = 192;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cacheRoot = defaultCacheRoot(process.env);
const { server: binary } = await ensureLlamaServer({ cacheRoot });
const model = await ensureTinyModel({ cacheRoot, script: tinyModelScript() });
const work = mkdtempSync(join(tmpdir(), 'astro-llama-bench-'));
const server = await startLlamaServer({ server: binary, model, dir: join(work, 'server'), slots, ctxPerSlot: 1024, alias: TINY_MODEL_ALIAS });
// Whatever fails, the server stops (it is not detached, but it would outlive this process).
process.on('exit', () => {
  try {
    process.kill(server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
});

async function tokensPredicted(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('llamacpp:tokens_predicted_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/**
 * Tokens/s the server generated over a window. The window opens once the client is under way (the
 * server has generated 2,000 tokens for it: a CLI takes seconds to start on a loaded machine)
 * plus a warm-up, so start-up is not measured.
 */
async function window(pidForCpu?: number): Promise<{ tokensPerS: number; cpuShare?: number }> {
  const start = await tokensPredicted();
  const deadline = performance.now() + 300_000;
  while ((await tokensPredicted()) < start + 2_000) {
    if (performance.now() > deadline) throw new Error('the client generated nothing in 300 s');
    await sleep(200);
  }
  await sleep(warmupS * 1000);
  const t0 = performance.now();
  const a = await tokensPredicted();
  const c0 = pidForCpu === undefined ? 0 : cpuSeconds(pidForCpu);
  await sleep(windowS * 1000);
  const b = await tokensPredicted();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = pidForCpu === undefined ? 0 : cpuSeconds(pidForCpu);
  return { tokensPerS: (b - a) / seconds, ...(pidForCpu === undefined ? {} : { cpuShare: (c1 - c0) / seconds }) };
}

// 1. run, through the CLI: measured without a profiler; then once more with a V8 tick profile.
const out = join(work, 'run');
const profDir = join(work, 'prof');
mkdirSync(profDir);
const config = join(work, 'run.json');
writeFileSync(config, JSON.stringify({ policy: { maxStepTokens: MAX_STEP_TOKENS, maxRolloutTokens: MAX_ROLLOUT_TOKENS } }));
const runArgs = (dir: string): string[] => ['run', '--policy', 'openai', '--base-url', server.baseUrl, '--config', config, '--problems', '2000', '--numbers', '4', '--iterations', '8', '--k', String(k), '--rollouts', String(rollouts), '--concurrency', String(concurrency), '--parallel-iterations', String(parallelIterations), '--out', dir, '--json'];
let runStderr = '';
async function measureRun(nodeArgs: readonly string[], dir: string): Promise<{ tokensPerS: number; cpuShare?: number }> {
  const child = spawn(process.execPath, [...nodeArgs, join(packageRoot(), 'bin', 'astro-stream.js'), ...runArgs(dir)], { cwd: profDir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => (runStderr = (runStderr + d.toString()).slice(-4000)));
  const result = await window(child.pid);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  process.stderr.write(`run stderr (last lines):\n${runStderr.split('\n').slice(-6).join('\n')}\n`);
  return result;
}
const runResult = await measureRun([], out);
process.stderr.write(`run: ${runResult.tokensPerS.toFixed(0)} tokens/s, client CPU ${(100 * (runResult.cpuShare ?? 0)).toFixed(0)}% of a core\n`);
const profiled = await measureRun(['--prof'], join(work, 'run-profiled'));
process.stderr.write(`run under --prof: ${profiled.tokensPerS.toFixed(0)} tokens/s\n`);

// 2. the load generator, on the prompts of the states run searched.
interface Body { prompt: string; n: number; max_tokens: number; stop: string[]; logprobs?: number; temperature: number; top_p: number; seed: number }
const bodies: Body[] = [];
const trees: SearchTree[] = [];
try {
  for await (const tree of readTreeArchive(out)) trees.push(tree);
} catch {
  // no tree finished in the window
}
for (const tree of trees) {
  const user = countdownPrompt(tree.problem);
  for (const node of tree.nodes) {
    const steps: string[] = [];
    for (let at = node; at.parent >= 0; at = tree.nodes[at.parent] ?? at) steps.unshift(at.step);
    const prompt = renderPrompt(LLAMA3_TEMPLATE, user, steps);
    const common = { prompt, temperature: 1, top_p: 0.95, seed: bodies.length };
    if (node.expanded) bodies.push({ ...common, n: k, max_tokens: MAX_STEP_TOKENS, stop: [STEP_DELIMITER, ...LLAMA3_STOPS], logprobs: 1 });
    if (node.rollouts > 0) bodies.push({ ...common, n: rollouts, max_tokens: MAX_ROLLOUT_TOKENS, stop: [...LLAMA3_STOPS] });
  }
}
// Trees finish slowly on a loaded machine: the run's problems at their root states complete the set.
for (const problem of generateCountdownProblems({ count: 200, seed: 7, numbers: 4 })) {
  const common = { prompt: renderPrompt(LLAMA3_TEMPLATE, countdownPrompt(problem), []), temperature: 1, top_p: 0.95, seed: bodies.length };
  bodies.push({ ...common, n: k, max_tokens: MAX_STEP_TOKENS, stop: [STEP_DELIMITER, ...LLAMA3_STOPS], logprobs: 1 });
  bodies.push({ ...common, n: rollouts, max_tokens: MAX_ROLLOUT_TOKENS, stop: [...LLAMA3_STOPS] });
}

async function loadGenerator(name: string, oneChoice: boolean): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const meanN = bodies.reduce((s, b) => s + b.n, 0) / bodies.length;
  // Enough in flight to fill every slot twice over, counted in choices.
  const inFlight = Math.ceil((2 * slots) / (oneChoice ? 1 : meanN));
  let next = 0;
  let stop = false;
  const post = (body: Body): Promise<void> =>
    new Promise((ok, ko) => {
      const payload = Buffer.from(JSON.stringify({ model: TINY_MODEL_ALIAS, ...body }));
      const req = request(`${server.baseUrl}/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? ok() : ko(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', ko);
      req.end(payload);
    });
  const worker = async (): Promise<void> => {
    while (!stop) {
      const body = bodies[next++ % bodies.length] as Body;
      if (oneChoice) await Promise.all(Array.from({ length: body.n }, (_, i) => post({ ...body, n: 1, seed: body.seed * 1000 + i })));
      else await post(body);
    }
  };
  const workers = Array.from({ length: oneChoice ? Math.ceil(inFlight / meanN) : inFlight }, () => worker());
  const { tokensPerS } = await window();
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  process.stderr.write(`${name}: ${tokensPerS.toFixed(0)} tokens/s\n`);
  return tokensPerS;
}

try {
  const asAsked = await loadGenerator('load generator, n as the search asks', false);
  const oneChoice = await loadGenerator('load generator, one choice per request', true);
  const peak = Math.max(asAsked, oneChoice);
  const ratio = runResult.tokensPerS / peak;

  // Where the client's time went: the V8 tick profile of the run process.
  // The main thread's log is the largest (the Parquet encoder runs in a worker with its own).
  const log = readdirSync(profDir).filter((f) => f.startsWith('isolate-') && f.endsWith('.log')).sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size)[0];
  const profile = log === undefined ? '(no profile)' : execFileSync(process.execPath, ['--prof-process', join(profDir, log)], { maxBuffer: 64 * 1024 * 1024 }).toString();
  const summary = /\[Summary\]:[\s\S]*?\n\n/.exec(profile)?.[0].trim() ?? '';
  const topJs = /\[JavaScript\]:\n([\s\S]*?)\n\n/.exec(profile)?.[1]?.split('\n').slice(0, 14).join('\n') ?? '';
  const topCpp = /\[C\+\+\]:\n([\s\S]*?)\n\n/.exec(profile)?.[1]?.split('\n').slice(0, 8).join('\n') ?? '';

  const command = `npx tsc -p tsconfig.json && node dist/bench/llamaSaturation.js ${slots} ${windowS} ${k} ${rollouts} ${concurrency} ${parallelIterations}`;
  const table = [
    `Server: llama-server (llama.cpp from llama-cpp-python 0.3.36, CPU), tiny model ${TINY_MODEL_ALIAS}, ${slots} slots. Search: k = ${k}, M = ${rollouts}, 8 iterations, steps ≤ ${MAX_STEP_TOKENS} tokens, rollouts ≤ ${MAX_ROLLOUT_TOKENS}; run --concurrency ${concurrency} --parallel-iterations ${parallelIterations}. Each measurement: ${windowS} s window, ${warmupS} s after the client's first 2,000 tokens; completion tokens counted by the server (/metrics). Load generator: ${bodies.length} request bodies: the states of the ${trees.length} trees run finished and the root states of its first 200 problems.`,
    '',
    '| client | completion tokens/s | ÷ peak |',
    '| --- | ---: | ---: |',
    `| load generator, n as the search asks (k, M) | ${asAsked.toFixed(0)} | ${(asAsked / peak).toFixed(3)} |`,
    `| load generator, one choice per request | ${oneChoice.toFixed(0)} | ${(oneChoice / peak).toFixed(3)} |`,
    `| \`astro-stream run --policy openai\` | ${runResult.tokensPerS.toFixed(0)} | **${ratio.toFixed(3)}** |`,
    '',
    `Target ≥ 0.9 of the peak: ${ratio >= 0.9 ? 'met' : 'NOT met'}. The run's client process used ${(100 * (runResult.cpuShare ?? 0)).toFixed(0)}% of one core over the window.`,
    '',
    `Where the client's time goes (V8 ticks of the main thread of a second run under \`node --prof\`, which drove ${profiled.tokensPerS.toFixed(0)} tokens/s):`,
    '',
    '```',
    summary,
    '',
    'top JavaScript:',
    topJs,
    '',
    'top C++:',
    topCpp,
    '```',
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const dir = join(packageRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'llamaSaturation.md'), `# Saturation against llama-server (issue #14)\n\nCommand: \`${command}\`\n\n${table}\n`);
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}

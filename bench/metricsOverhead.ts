/**
 * What `--metrics-port` costs `run`: the same in-process run (4-number Countdown, paper budgets,
 * the shipped ONNX network) with and without the Prometheus exporter, alternating, with a scrape
 * every `--scrape-ms` while the exporter is on (a busy scraper: Prometheus defaults to 15 s).
 * Also the cost of one counter call on the hot path, InMemoryMetrics alone vs forwarding to the
 * exporter, and of one scrape.
 *
 *   npm run build && node dist/bench/metricsOverhead.js [--problems 24] [--rounds 5] [--scrape-ms 1000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InMemoryMetrics, silentLogger, type Metrics } from '../operators/common/metrics.js';
import { runPipeline } from '../streams/cli/commands/run.js';
import { parseRunConfig } from '../streams/cli/runConfig.js';
import { startMetricsEndpoint } from '../streams/metrics/metricsEndpoint.js';

const { values: args } = parseArgs({ options: { problems: { type: 'string', default: '24' }, rounds: { type: 'string', default: '5' }, 'scrape-ms': { type: 'string', default: '1000' } } });
const problems = Number(args.problems);
const rounds = Number(args.rounds);
const scrapeMs = Number(args['scrape-ms']);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function oneRun(withMetrics: boolean): Promise<{ ms: number; scrapes: number; scrapeMs: number[] }> {
  const out = await mkdtemp(join(tmpdir(), 'astro-bench-metrics-'));
  const endpoint = withMetrics ? await startMetricsEndpoint({ port: 0, host: '127.0.0.1', command: 'bench' }, { logger: silentLogger }) : undefined;
  const scrapeTimes: number[] = [];
  const timer = endpoint === undefined ? undefined : setInterval(() => {
    const t = performance.now();
    void fetch(endpoint.url).then((r) => r.text()).then(() => scrapeTimes.push(performance.now() - t));
  }, scrapeMs);
  const started = performance.now();
  await runPipeline(parseRunConfig({ problems, seed: 7, out }), { logger: silentLogger, progress: null, ...(endpoint === undefined ? {} : { exporter: endpoint }) });
  const ms = performance.now() - started;
  clearInterval(timer);
  await endpoint?.close();
  await rm(out, { recursive: true, force: true });
  return { ms, scrapes: scrapeTimes.length, scrapeMs: scrapeTimes };
}

async function callCostNs(): Promise<{ alone: number; forwarded: number; labelled: number }> {
  const endpoint = await startMetricsEndpoint({ port: 0, host: '127.0.0.1', command: 'bench' }, { logger: silentLogger });
  const n = 2_000_000;
  const time = (m: InMemoryMetrics, labels?: { readonly stage: string; readonly topic: string }): number => {
    const t = performance.now();
    for (let i = 0; i < n; i++) m.increment('mcts.revisits', 1, labels);
    return ((performance.now() - t) * 1e6) / n;
  };
  const alone = new InMemoryMetrics();
  const forwarded = new InMemoryMetrics(endpoint.metrics);
  time(alone);
  time(forwarded);
  const result = { alone: time(alone), forwarded: time(forwarded), labelled: time(forwarded, { stage: 'search', topic: 'astro.problems.v1' }) };
  await endpoint.close();
  return result;
}

console.log(`metrics overhead: run --problems ${problems} (4-number Countdown, k=8, M=16, 32 iterations), ${rounds} alternating rounds, a scrape every ${scrapeMs} ms with metrics on`);
const ratios: number[] = [];
const scrapeCosts: number[] = [];
await oneRun(false); // warm-up: onnxruntime, the Parquet worker, JIT
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so drift in machine load does not favour one side.
  const first = r % 2 === 0;
  const a = await oneRun(first);
  const b = await oneRun(!first);
  const on = first ? a : b;
  const off = first ? b : a;
  ratios.push(on.ms / off.ms);
  scrapeCosts.push(...on.scrapeMs);
  console.log(`round ${r + 1}: without ${(off.ms / 1000).toFixed(2)} s, with ${(on.ms / 1000).toFixed(2)} s (${on.scrapes} scrapes), ratio with/without ${(on.ms / off.ms).toFixed(3)}`);
}
console.log(`median wall-time ratio with/without --metrics-port: ${median(ratios).toFixed(3)} (rounds: ${ratios.map((x) => x.toFixed(3)).join(', ')})`);
console.log(`scrape latency during the run: median ${median(scrapeCosts).toFixed(1)} ms, max ${Math.max(...scrapeCosts).toFixed(1)} ms over ${scrapeCosts.length} scrapes`);
const calls = await callCostNs();
console.log(`one counter call: InMemoryMetrics alone ${calls.alone.toFixed(1)} ns, forwarded to the exporter ${calls.forwarded.toFixed(1)} ns, with two labels ${calls.labelled.toFixed(1)} ns`);

// The wall-time ratio drowns in the load of a shared machine; the count of calls does not.
let counted = 0;
const counting: Metrics = { increment: () => void counted++, observe: () => void counted++, gauge: () => void counted++ };
const out = await mkdtemp(join(tmpdir(), 'astro-bench-metrics-'));
const started = performance.now();
await runPipeline(parseRunConfig({ problems, seed: 7, out }), { logger: silentLogger, progress: null, exporter: { metrics: counting, watch: () => undefined, watchStats: () => undefined, refresh: async () => undefined } });
const runMs = performance.now() - started;
await rm(out, { recursive: true, force: true });
const extraMs = (counted * Math.max(calls.forwarded, calls.labelled) - counted * calls.alone) / 1e6;
console.log(`Metrics calls in one run: ${counted} (${(counted / problems).toFixed(0)} per problem); at the measured per-call difference that is ${extraMs.toFixed(1)} ms of a ${(runMs / 1000).toFixed(2)} s run (${((extraMs / runMs) * 100).toFixed(2)}%)`);

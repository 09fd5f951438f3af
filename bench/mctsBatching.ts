/**
 * Problems/s of MCTS at paper budgets (k=8, M=16, 32 iterations) on 4-number Countdown, one
 * process, with rollouts evaluated in batches vs one state per onnxruntime call, side by side in
 * the same run, plus where the wall time goes.
 *
 *   npm run build && node dist/bench/mctsBatching.js [--problems 32] [--numbers 4] [--concurrency 8]
 *
 * Both modes search `concurrency` trees at once (as the search stage does); in batched mode the
 * net coalesces the concurrent requests into shared onnxruntime runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countdownDomain } from '../domains/countdown/index.js';
import { InMemoryMetrics } from '../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../operators/linearize/linearizeConfig.js';
import { linearizeTree } from '../operators/linearize/linearizeTree.js';
import type { Policy } from '../operators/mcts/policy.js';
import { searchTree } from '../operators/mcts/search.js';
import { DEFAULT_SEARCH_CONFIG } from '../operators/mcts/searchConfig.js';
import { labelTree } from '../operators/verify/labelTree.js';
import type { Verifier } from '../operators/verify/verifier.js';
import { initialCountdownModelPath } from '../models/paths.js';
import { PolicyValueNet } from '../models/policyValueNet.js';
import type { Problem } from '../schemas/problem.js';
import type { SearchTree } from '../schemas/searchTree.js';
import { ParquetEncoder } from '../streams/sinks/parquetEncoder.js';
import { createTraceParquetSink } from '../streams/sinks/traceParquetSink.js';
import { createCountdownNetPolicy } from '../streams/policies/onnxPolicy.js';

interface Timing {
  search: number;
  evaluate: number;
  propose: number;
  rollout: number;
  verify: number;
  runs: number;
}

/** Wraps the net so time inside onnxruntime is measured separately from sampling and bookkeeping. */
function timedNet(net: PolicyValueNet, timing: Timing): PolicyValueNet {
  const evaluate = net.evaluate.bind(net);
  net.evaluate = async (features, mask, batch) => {
    const t = performance.now();
    try {
      return await evaluate(features, mask, batch);
    } finally {
      timing.evaluate += performance.now() - t;
    }
  };
  return net;
}

function timedPolicy(policy: Policy, timing: Timing): Policy {
  return {
    version: policy.version,
    usage: () => policy.usage(),
    proposeSteps: async (states, n, options) => {
      const t = performance.now();
      try {
        return await policy.proposeSteps(states, n, options);
      } finally {
        timing.propose += performance.now() - t;
      }
    },
    rollout: async (states, n, options) => {
      const t = performance.now();
      try {
        return await policy.rollout(states, n, options);
      } finally {
        timing.rollout += performance.now() - t;
      }
    },
  };
}

function timedVerifier(verifier: Verifier, timing: Timing): Verifier {
  return {
    name: verifier.name,
    version: verifier.version,
    configHash: verifier.configHash,
    // The verifier's work is synchronous inside the call (its promise is already settled), so timing
    // up to the return measures CPU, not the overlap of the many rollouts verified with Promise.all.
    verify: (problem, response) => {
      const t = performance.now();
      const verdict = verifier.verify(problem, response);
      timing.verify += performance.now() - t;
      return verdict;
    },
  };
}

async function measure(problems: readonly Problem[], maxBatch: number, inFlight = concurrency): Promise<{ timing: Timing; trees: SearchTree[] }> {
  const timing: Timing = { search: 0, evaluate: 0, propose: 0, rollout: 0, verify: 0, runs: 0 };
  const net = timedNet(await PolicyValueNet.load(initialCountdownModelPath(), { maxBatch }), timing);
  const policy = timedPolicy(createCountdownNetPolicy(net), timing);
  const verifier = timedVerifier(countdownDomain.verifier, timing);
  const trees: SearchTree[] = new Array<SearchTree>(problems.length);
  const started = performance.now();
  // The same concurrency in both modes: several trees in flight, as the search stage runs them.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < problems.length; i = next++) {
      trees[i] = await searchTree(problems[i] as Problem, { ...DEFAULT_SEARCH_CONFIG, seed: 1 }, { policy, verifier, clock: Date.now });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  timing.search = performance.now() - started;
  timing.runs = net.runs();
  return { timing, trees };
}

const { values } = parseArgs({ options: { problems: { type: 'string', default: '32' }, numbers: { type: 'string', default: '4' }, concurrency: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' } } });
const concurrency = Number(values.concurrency);
const problems = countdownDomain.generate?.({ count: Number(values.problems), seed: 11, difficulty: Number(values.numbers) }) ?? [];

// Warm-up (JIT, onnxruntime session init) outside the measurement. Then alternate the two modes
// for several rounds and take the median ratio: other load on a 2-core machine shifts absolute
// numbers by 2x between minutes, but hits adjacent runs alike.
await measure(problems.slice(0, 4), 4096);
await measure(problems.slice(0, 4), 1);
const rounds = Number(values.rounds);
const results: { batched: { timing: Timing; trees: SearchTree[] }; single: { timing: Timing; trees: SearchTree[] } }[] = [];
for (let r = 0; r < rounds; r++) results.push({ batched: await measure(problems, 4096), single: await measure(problems, 1) });
const ratioOf = (x: (typeof results)[number]): number => x.single.timing.search / x.batched.timing.search;
const sorted = [...results].sort((a, b) => ratioOf(a) - ratioOf(b));
const median = sorted[Math.floor(sorted.length / 2)] as (typeof results)[number];
const { batched, single } = median;
const sequential = await measure(problems.slice(0, 8), 4096, 1);

const same = JSON.stringify(batched.trees.map((t) => t.nodes)) === JSON.stringify(single.trees.map((t) => t.nodes));

// Sink cost for the same trees: label, linearize, encode Parquet in the worker, write.
const dir = await mkdtemp(join(tmpdir(), 'bench-mcts-'));
const encoder = ParquetEncoder.create({ workers: 1 });
const sinkStart = performance.now();
const metrics = new InMemoryMetrics();
const traces = [];
for (const tree of batched.trees) {
  const verified = await labelTree(tree, countdownDomain.verifier);
  traces.push(...(await linearizeTree(verified, { ...defaultLinearizeConfig, seed: 1 }, { domain: countdownDomain, verifier: countdownDomain.verifier, metrics })));
}
const linearizeMs = performance.now() - sinkStart;
const writeStart = performance.now();
await createTraceParquetSink({ dir, encoder }).writeBatch(traces, 0);
const sinkMs = performance.now() - writeStart;
await encoder.close();
await rm(dir, { recursive: true, force: true });

const pps = (t: Timing, n = problems.length): number => (n * 1000) / t.search;
// Shares of wall time, from a sequential batched run (one tree at a time, so the timers do not overlap).
const breakdown = (t: Timing): string => {
  const sampling = t.propose + t.rollout - t.evaluate;
  const bookkeeping = t.search - t.propose - t.rollout - t.verify;
  const pct = (x: number): string => `${((100 * x) / t.search).toFixed(1)}%`;
  return `onnxruntime ${pct(t.evaluate)}, state encoding + action sampling + step rendering ${pct(sampling)}, verifier ${pct(t.verify)}, tree bookkeeping ${pct(bookkeeping)}`;
};
const rows = [
  `problems: ${problems.length} x ${values.numbers}-number Countdown, k=8 M=16 iterations=32 (paper budgets), ${concurrency} trees in flight, ${rounds} alternating rounds`,
  `batched (coalesced, maxBatch 4096): ${pps(batched.timing).toFixed(2)} problems/s, ${batched.timing.runs} onnxruntime runs`,
  `one state per call (maxBatch 1):   ${pps(single.timing).toFixed(2)} problems/s, ${single.timing.runs} onnxruntime runs`,
  `speedup batched / single (median of rounds): ${ratioOf(median).toFixed(2)}x (all rounds: ${results.map((x) => ratioOf(x).toFixed(2)).join(', ')}; target >= 3x); identical trees: ${same}`,
  `where the time goes (sequential batched run, ${pps(sequential.timing, 8).toFixed(2)} problems/s): ${breakdown(sequential.timing)}`,
  `downstream for the same ${batched.trees.length} trees: label+linearize ${linearizeMs.toFixed(0)} ms, Parquet sink ${sinkMs.toFixed(0)} ms for ${traces.length} traces (${((100 * (linearizeMs + sinkMs)) / (batched.timing.search + linearizeMs + sinkMs)).toFixed(1)}% of batched wall time)`,
];
console.log(rows.join('\n'));

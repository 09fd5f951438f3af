import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../../operators/common/metrics.js';
import { sha256Hex } from '../../../operators/common/hash.js';
import type { Verifier } from '../../../operators/verify/verifier.js';
import type { Trace } from '../../../schemas/trace.js';
import { parseRunConfig } from '../../../streams/cli/runConfig.js';
import { runPipeline } from '../../../streams/cli/commands/run.js';
import { readDatasetTraces } from '../../../streams/replay/readTraceFiles.js';
import type { RunSummary } from '../../../streams/cli/summary.js';

/**
 * Generates a small real dataset in-process (Countdown, 3 numbers, 16 MCTS iterations: most trees
 * are valid, a few seconds). `brokers` runs the topology over Kafka instead of in memory.
 */
export function generateDataset(out: string, options: { seed?: number; problems?: number; brokers?: string[] } = {}): Promise<RunSummary> {
  const config = parseRunConfig({
    problems: options.problems ?? 6,
    seed: options.seed ?? 7,
    numbers: 3,
    out,
    search: { iterations: 16 },
    sink: { maxRecords: 1000, lingerMs: 20 },
    ...(options.brokers === undefined ? {} : { brokers: options.brokers }),
  });
  return runPipeline(config, { progress: null, logger: silentLogger });
}

/** Every trace row of a dataset, in file then row order. */
export async function readRows(dir: string): Promise<Trace[]> {
  const rows: Trace[] = [];
  for await (const { trace } of readDatasetTraces(dir)) rows.push(trace);
  return rows;
}

/** sha256 of each listed file of a dataset, by relative path. */
export async function fileHashes(dir: string, paths: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) out[p] = sha256Hex(await readFile(join(dir, p)));
  return out;
}

/** Whether the flipping verifier below inverts its verdict on this response. */
export const flips = (response: string): boolean => parseInt(sha256Hex(response).slice(0, 2), 16) % 3 === 0;

/**
 * A "new verifier version" for tests: reports a different version and inverts the verdict on
 * about a third of the responses (chosen by hash, so the expected changes can be computed).
 */
export function flippingVerifier(inner: Verifier): Verifier & { calls(): number } {
  let calls = 0;
  return {
    name: inner.name,
    version: `${inner.version}-flip`,
    configHash: `${inner.configHash}-flip`,
    async verify(problem, response) {
      calls += 1;
      const verdict = await inner.verify(problem, response);
      return flips(response) ? { ...verdict, correct: !verdict.correct } : verdict;
    },
    calls: () => calls,
  };
}

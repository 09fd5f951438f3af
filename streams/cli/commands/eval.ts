import { Command } from 'commander';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { AppError } from '../../../operators/common/errors.js';
import { deriveSeed } from '../../../operators/common/rng.js';
import { isHeldOutProblem } from '../../../operators/rl/heldOut.js';
import { initialCountdownModelPath } from '../../../models/paths.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import type { Problem } from '../../../schemas/problem.js';
import { evaluatePolicy, parseEvalSearch, type EvalSearch } from '../../trainer/evaluatePolicy.js';
import { intFlag } from '../runConfig.js';

interface EvalFlags {
  readonly policy: string;
  readonly problems: number;
  readonly seed: number;
  readonly search: string;
  readonly numbers: number;
}

/** One `eval` result line. */
export interface EvalLine {
  readonly policy: string;
  readonly policy_sha256: string;
  readonly search: string;
  readonly numbers: number;
  readonly seed: number;
  readonly problems: number;
  readonly solved: number;
  readonly solve_rate: number;
  readonly wall_ms: number;
}

/**
 * The held-out evaluation set: the first `count` generated Countdown problems (from a seed derived
 * from `seed`) that fall in the content-hashed evaluation split, which `run --train` never feeds
 * to training (see `isHeldOutProblem`).
 */
export function heldOutProblems(count: number, seed: number, numbers: number): Problem[] {
  const genSeed = deriveSeed(seed, 'eval-held-out') & 0x7fffffff;
  // The split keeps ~10% of problems: generate in growing prefixes (problem i depends only on i).
  for (let generated = count * 12; ; generated *= 2) {
    const held = generateCountdownProblems({ count: generated, seed: genSeed, numbers }).filter((p) => isHeldOutProblem(p));
    if (held.length >= count) return held.slice(0, count);
  }
}

/** Loads `builtin` or an ONNX file and measures its solve rate (shared by the CLI and the benchmarks). */
export async function evaluatePolicyFile(policy: string, options: { readonly problems: number; readonly seed: number; readonly numbers: number; readonly search: EvalSearch }, clock: () => number = Date.now): Promise<EvalLine> {
  const started = clock();
  const path = policy === 'builtin' ? initialCountdownModelPath() : policy;
  let net: PolicyValueNet;
  try {
    net = await PolicyValueNet.load(path);
  } catch (error) {
    throw new AppError('config', `cannot load policy ${policy}: ${(error as Error).message}`);
  }
  try {
    const problems = heldOutProblems(options.problems, options.seed, options.numbers);
    const result = await evaluatePolicy(net, problems, options.search, { verifier: createCountdownVerifier(), seed: options.seed });
    return {
      policy,
      policy_sha256: net.sha256,
      search: options.search.kind === 'greedy' ? 'greedy' : `mcts:${options.search.iterations}`,
      numbers: options.numbers,
      seed: options.seed,
      problems: result.problems,
      solved: result.solved,
      solve_rate: result.solve_rate,
      wall_ms: clock() - started,
    };
  } finally {
    await net.close();
  }
}

/** `astro-stream eval`: solve rate of a Countdown policy on held-out generated problems, as one JSON line. */
export function createEvalCommand(): Command {
  return new Command('eval')
    .description('Solve rate of a Countdown policy (builtin or an ONNX file, e.g. OUT/policies/<sha256>.onnx) on held-out generated problems; prints one JSON line')
    .option('--policy <builtin|file>', 'the shipped initial network (builtin) or an ONNX model file', 'builtin')
    .option('--problems <n>', 'held-out problems (default 500)', intFlag('--problems'), 500)
    .option('--seed <s>', 'seed of the held-out set (default 1)', intFlag('--seed'), 1)
    .option('--numbers <n>', 'Countdown numbers per problem, 3-6 (default 4)', intFlag('--numbers'), 4)
    .option('--search <mode>', 'greedy (argmax play) or mcts:ITER (MCTS with ITER iterations, k=4, M=4; the most visited path answers)', 'greedy')
    .action(async (flags: EvalFlags) => {
      let search: EvalSearch;
      try {
        search = parseEvalSearch(flags.search);
      } catch (error) {
        throw new AppError('config', (error as Error).message);
      }
      if (flags.problems < 1) throw new AppError('config', `--problems must be positive, got ${flags.problems}`);
      if (flags.numbers < 3 || flags.numbers > 6) throw new AppError('config', `--numbers must be 3-6, got ${flags.numbers}`);
      const line = await evaluatePolicyFile(flags.policy, { problems: flags.problems, seed: flags.seed, numbers: flags.numbers, search });
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
}

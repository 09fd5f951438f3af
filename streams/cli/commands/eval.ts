import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { generateCountdownProblems } from '../../../domains/countdown/generator.js';
import { domainOf } from '../../../domains/registry.js';
import { createCountdownVerifier } from '../../../domains/countdown/verifier.js';
import { AppError } from '../../../operators/common/errors.js';
import { deriveSeed } from '../../../operators/common/rng.js';
import { isHeldOutProblem } from '../../../operators/rl/heldOut.js';
import { initialCountdownModelPath } from '../../../models/paths.js';
import { PolicyValueNet } from '../../../models/policyValueNet.js';
import type { Problem } from '../../../schemas/problem.js';
import type { SampleScores } from '../../../operators/eval/scoreSamples.js';
import type { Policy } from '../../../operators/mcts/policy.js';
import { createPolicy, PolicySettings } from '../../policies/factory.js';
import { createOnnxCountdownPolicy } from '../../policies/onnxPolicy.js';
import type { OpenAiPolicy } from '../../policies/openai/index.js';
import { isProblemPreset, PROBLEM_PRESETS, type ProblemPreset } from '../../sources/problemMapping.js';
import { readJsonlProblems } from '../../sources/readJsonlProblems.js';
import { readParquetProblems } from '../../sources/readParquetProblems.js';
import { evaluatePolicy, evaluateSamples, parseEvalSearch, rolloutSampler, type EvalResponse, type EvalSearch, type ResponseSampler } from '../../trainer/evaluatePolicy.js';
import { intFlag, numberFlag } from '../runConfig.js';
import { stderrLogger } from '../util.js';
import { mappingFor } from '../../sources/problemMapping.js';

interface EvalFlags {
  readonly policy: string;
  readonly problems?: number;
  readonly seed: number;
  readonly search: string;
  readonly numbers: number;
  readonly preset?: string;
  readonly file?: string;
  readonly datasetsDir: string;
  readonly samples?: number;
  readonly maj: number;
  readonly temperature: number;
  readonly topP: number;
  readonly maxTokens: number;
  readonly concurrency: number;
  readonly baseUrl?: string;
  readonly model?: string;
  readonly maxInflight?: number;
  readonly timeoutMs?: number;
  readonly out?: string;
}

/** The evaluation file of each preset in the shared datasets folder (GSM8K: its test split). */
export const PRESET_FILES: Readonly<Record<ProblemPreset, string>> = { math500: 'math500.jsonl', amc: 'amc23.jsonl', aime: 'aime24.jsonl', gsm8k: 'gsm8k-test.jsonl' };

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

/** One `eval` line of the sampling protocol (ASTRO-METHOD §5). */
export interface SampleEvalLine extends SampleScores {
  readonly policy: string;
  readonly policy_version: string;
  /** The problem set: a preset or file, or `countdown-held-out:<numbers>`. */
  readonly problem_set: string;
  readonly temperature: number;
  readonly top_p: number;
  readonly seed: number;
  readonly wall_ms: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const r3 = (x: number | null): string => (x === null ? 'n/a (constant)' : x.toFixed(3));

/** The human-readable table of a sampling evaluation. */
export function formatSampleEval(line: SampleEvalLine): string {
  const cells = Object.entries(line.backtracks_by_correctness).map(([k, v]) => `${k}:${v.correct}/${v.correct + v.incorrect}`).join(' ') || '-';
  return [
    `eval              ${line.policy_version} on ${line.problem_set}: ${line.problems} problems × ${line.samples} samples (T ${line.temperature}, top-p ${line.top_p}, seed ${line.seed})`,
    `pass@1            ${pct(line.pass_at_1)} (mean over the samples)`,
    `maj@${String(line.maj_k).padEnd(13)} ${pct(line.maj_at_k)}`,
    `backtracks        ${line.avg_backtracks.toFixed(2)} per response; correct/responses by backtracks ${cells}`,
    `Pearson r         backtracks vs correct: ${r3(line.backtracks_correct_pearson)} per response, ${r3(line.problem_backtracks_pass_pearson)} per problem (mean backtracks vs pass@1)`,
    `no answer         ${line.unanswered} responses (${line.truncated} cut by the length limit)`,
    `wall time         ${(line.wall_ms / 1000).toFixed(1)} s`,
    '',
  ].join('\n');
}

/** The problems of a sampling evaluation: a preset's or a file's (the first `limit`), else held-out Countdown. */
async function evalProblems(flags: EvalFlags): Promise<{ problems: Problem[]; name: string }> {
  if (flags.preset === undefined && flags.file === undefined) {
    const count = flags.problems ?? 100;
    return { problems: heldOutProblems(count, flags.seed, flags.numbers), name: `countdown-held-out:${flags.numbers}` };
  }
  if (flags.preset !== undefined && !isProblemPreset(flags.preset)) throw new AppError('config', `unknown --preset ${JSON.stringify(flags.preset)}; known: ${Object.keys(PROBLEM_PRESETS).join(', ')}`);
  const file = flags.file ?? join(resolve(flags.datasetsDir), PRESET_FILES[flags.preset as ProblemPreset]);
  if (!existsSync(file)) throw new AppError('config', `no problem file ${file}; pass --file or --datasets-dir`);
  const mapping = mappingFor(file, { preset: flags.preset });
  const problems: Problem[] = [];
  const logger = stderrLogger('eval');
  try {
    for await (const row of file.endsWith('.parquet') ? readParquetProblems(file, mapping) : readJsonlProblems(file, mapping)) {
      if (row.ok) problems.push(row.value);
      else logger.warn(`skipping a bad row of ${file}`, { reason: row.error.message });
      if (flags.problems !== undefined && problems.length >= flags.problems) break;
    }
  } catch (error) {
    throw new AppError('config', `cannot read ${file}: ${(error as Error).message}`);
  }
  if (problems.length === 0) throw new AppError('config', `no problems in ${file}`);
  return { problems, name: flags.preset ?? file };
}

/**
 * Full responses from an OpenAI-compatible server: the problem's prompt in the policy's template,
 * `n` completions in one request, stopped only at the end of the assistant turn (not at the first
 * boxed answer as a search rollout is: a response that backtracks boxes wrong answers on the way).
 */
function openAiSampler(policy: OpenAiPolicy, options: { readonly temperature: number; readonly topP: number; readonly maxTokens: number }): ResponseSampler {
  return async (problem, n, seed) => {
    const response = await policy.completeRaw(problem.id, {
      user: domainOf(problem.domain).prompt(problem),
      steps: [],
      n,
      max_tokens: options.maxTokens,
      temperature: options.temperature,
      top_p: options.topP,
      seed,
      stop: [...policy.endStops],
    });
    return response.choices.map((c) => ({ text: c.text.trim(), truncated: c.finish_reason === 'length' }));
  };
}

/** The policy answering a sampling evaluation and how its responses are drawn. */
async function samplingPolicy(flags: EvalFlags): Promise<{ policy: Policy; sampler: ResponseSampler }> {
  const options = { temperature: flags.temperature, topP: flags.topP };
  if (flags.policy === 'openai' || flags.policy === 'dry-run') {
    const parsed = PolicySettings.safeParse({
      kind: flags.policy,
      baseUrl: flags.baseUrl,
      model: flags.model,
      maxRolloutTokens: flags.maxTokens,
      ...(flags.maxInflight === undefined ? {} : { maxInFlight: flags.maxInflight }),
      ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
    });
    if (!parsed.success) throw new AppError('config', `invalid policy settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const apiKey = process.env.OPENAI_API_KEY;
    const policy = await createPolicy(parsed.data, { domainOf, clock: Date.now, logger: stderrLogger('eval'), ...(apiKey === undefined ? {} : { apiKey }) });
    const sampler = flags.policy === 'openai' ? openAiSampler(policy as OpenAiPolicy, { ...options, maxTokens: flags.maxTokens }) : rolloutSampler(policy, { ...options, maxSteps: 50 });
    return { policy, sampler };
  }
  let policy: Policy;
  try {
    policy = await createOnnxCountdownPolicy(flags.policy === 'builtin' ? {} : { modelPath: flags.policy });
  } catch (error) {
    throw new AppError('config', `cannot load policy ${flags.policy}: ${(error as Error).message}`);
  }
  return { policy, sampler: rolloutSampler(policy, { ...options, maxSteps: 50 }) };
}

/** `eval` with the paper's protocol: samples per problem, pass@1, maj@k, backtracks and their correlation with accuracy. */
async function runSampleEval(flags: EvalFlags): Promise<SampleEvalLine> {
  const started = Date.now();
  const samples = flags.samples ?? 16;
  if (samples < 1 || flags.maj < 1 || flags.concurrency < 1) throw new AppError('config', '--samples, --maj and --concurrency must be >= 1');
  if (flags.maj > samples) throw new AppError('config', `--maj ${flags.maj} needs at least as many --samples (got ${samples})`);
  const builtinNet = flags.policy !== 'openai' && flags.policy !== 'dry-run';
  if (builtinNet && (flags.preset !== undefined || flags.file !== undefined)) throw new AppError('config', `--policy ${flags.policy} is a Countdown network: it cannot answer ${flags.preset ?? flags.file}; use --policy openai`);
  const { problems, name } = await evalProblems(flags);
  const { policy, sampler } = await samplingPolicy(flags);
  const out = flags.out === undefined ? null : createWriteStream(flags.out);
  try {
    const scores = await evaluateSamples(problems, { samples, majK: flags.maj, seed: flags.seed, concurrency: flags.concurrency }, {
      sampler,
      domainOf,
      onProblem: (responses: readonly EvalResponse[]) => {
        for (const r of responses) out?.write(`${JSON.stringify(r)}\n`);
      },
    });
    return { policy: flags.policy, policy_version: policy.version, problem_set: name, ...scores, temperature: flags.temperature, top_p: flags.topP, seed: flags.seed, wall_ms: Date.now() - started };
  } finally {
    await policy.close?.();
    if (out !== null) await new Promise<void>((done) => out.end(done));
  }
}

/**
 * `astro-stream eval`: the paper's evaluation (pass@1 over `--samples`, maj@k, backtracks per
 * response and their correlation with accuracy) for any policy on a math preset, a problem file
 * or held-out Countdown problems; or, for the built-in Countdown network without `--samples`, its
 * greedy or MCTS solve rate on held-out problems. Prints one JSON line on stdout (and, for
 * sampling, a table on stderr).
 */
export function createEvalCommand(): Command {
  return new Command('eval')
    .description('Evaluate a policy: pass@1 over samples, maj@k, backtracks and their correlation with accuracy (ASTRO-METHOD §5) on a math preset, a problem file or held-out Countdown problems; or the greedy/MCTS solve rate of a Countdown network. One JSON line on stdout, a table on stderr')
    .option('--policy <kind>', 'builtin (the shipped Countdown network), an ONNX file (e.g. OUT/policies/<sha256>.onnx), openai (an OpenAI-compatible server) or dry-run', 'builtin')
    .option('--base-url <url>', 'openai: server base URL including /v1')
    .option('--model <id>', "openai: model id (default: the server's first model)")
    .option('--max-inflight <n>', 'openai: requests in flight at once', intFlag('--max-inflight'))
    .option('--timeout-ms <ms>', 'openai: time limit of one request attempt', intFlag('--timeout-ms'))
    .option('--preset <name>', `problem set: ${Object.keys(PROBLEM_PRESETS).join(', ')} (read from --datasets-dir, or --file with this field mapping)`)
    .option('--file <path>', 'problem file (jsonl or parquet); its fields from --preset or the file name')
    .option('--datasets-dir <dir>', 'where the preset files are', '../shared/datasets')
    .option('--problems <n>', 'problems to evaluate (default: every problem of a file; 100 held-out Countdown problems when sampling, 500 for greedy/MCTS)', intFlag('--problems'))
    .option('--samples <n>', 'responses per problem for pass@1 and maj@k (default 16; the built-in network samples only when this is given)', intFlag('--samples'))
    .option('--maj <k>', 'majority vote over the first k responses (default 8)', intFlag('--maj'), 8)
    .option('--temperature <t>', 'sampling temperature (default 1.0)', numberFlag('--temperature'), 1)
    .option('--top-p <p>', 'nucleus sampling mass (default 0.95)', numberFlag('--top-p'), 0.95)
    .option('--max-tokens <n>', 'openai: token limit of one response (default 4096)', intFlag('--max-tokens'), 4096)
    .option('--concurrency <n>', 'problems sampled at once (default 8)', intFlag('--concurrency'), 8)
    .option('--out <file>', 'also write every response with its answer, verdict and backtracks as JSON lines')
    .option('--seed <s>', 'seed of the samples and of the held-out Countdown set (default 1)', intFlag('--seed'), 1)
    .option('--numbers <n>', 'Countdown numbers per problem, 3-6 (default 4)', intFlag('--numbers'), 4)
    .option('--search <mode>', 'built-in network without --samples: greedy (argmax play) or mcts:ITER (MCTS with ITER iterations, k=4, M=4; the most visited path answers)', 'greedy')
    .action(async (flags: EvalFlags) => {
      if (flags.numbers < 3 || flags.numbers > 6) throw new AppError('config', `--numbers must be 3-6, got ${flags.numbers}`);
      if (flags.problems !== undefined && flags.problems < 1) throw new AppError('config', `--problems must be positive, got ${flags.problems}`);
      const sampling = flags.samples !== undefined || flags.policy === 'openai' || flags.policy === 'dry-run' || flags.preset !== undefined || flags.file !== undefined;
      if (sampling) {
        const line = await runSampleEval(flags);
        process.stdout.write(`${JSON.stringify(line)}\n`);
        process.stderr.write(formatSampleEval(line));
        return;
      }
      let search: EvalSearch;
      try {
        search = parseEvalSearch(flags.search);
      } catch (error) {
        throw new AppError('config', (error as Error).message);
      }
      const line = await evaluatePolicyFile(flags.policy, { problems: flags.problems ?? 500, seed: flags.seed, numbers: flags.numbers, search });
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DOMAIN_NAMES } from '../../domains/registry.js';
import { AppError } from '../../operators/common/errors.js';
import { LinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { SearchConfigSchema } from '../../operators/mcts/searchConfig.js';
import { PolicySettings } from '../policies/factory.js';

/**
 * The fields of `schema`, all optional and without their defaults. zod's `.partial()` keeps
 * `.default()` values, which would fill e.g. `seed: 0` into every override layer.
 */
function overridesOf<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  const shape = Object.fromEntries(
    Object.entries(schema.shape).map(([key, field]) => {
      const inner = field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType);
      return [key, inner.optional()];
    }),
  ) as { [K in keyof Shape]: z.ZodOptional<z.ZodType<z.output<Shape[K]>>> };
  return z.object(shape).strict();
}

/**
 * Everything `astro-stream run` needs, validated once at the edge. Layers, lowest first: these
 * defaults, `--config FILE` (JSON with the same shape), then command-line flags.
 */
export const RunConfig = z
  .object({
    /** How many problems: generated (countdown source), or the first N read from `file`. */
    problems: z.number().int().positive().default(12),
    /** Where problems come from: the Countdown generator, or a JSONL / Parquet file (`file`). */
    source: z.enum(['countdown', 'jsonl', 'parquet']).default('countdown'),
    /** Problem file of a jsonl / parquet source. */
    file: z.string().min(1).optional(),
    /** Field mapping preset of the file (math500, aime, amc, gsm8k); default: guessed from the file name. */
    preset: z.string().min(1).optional(),
    /** Field names of the file's rows (instead of, or over, the preset): question, answer, solution, own id. */
    fields: z
      .object({ question: z.string().min(1), answer: z.string().min(1), solution: z.string().min(1), id: z.string().min(1) })
      .partial()
      .strict()
      .optional(),
    /** Source name recorded in every problem (and part of its id) instead of the preset's or the file's. */
    sourceName: z.string().min(1).optional(),
    /** Seed of the problem generator, the search and the linearizer. */
    seed: z.number().int().default(7),
    out: z.string().min(1).default('out/run'),
    /**
     * A non-empty `out`: `new` refuses it, `resume` continues the run in it (problems whose trees
     * are there are skipped), `overwrite` removes the dataset there first.
     */
    outMode: z.enum(['new', 'resume', 'overwrite']).default('new'),
    /**
     * Domain of generated problems (file problems carry their own, `math` by default), and of the
     * problems a `stage search` expects (its policy must serve it).
     */
    domain: z.enum(DOMAIN_NAMES as [string, ...string[]]).default('countdown'),
    /** Countdown difficulty: how many numbers (3–6). */
    numbers: z.number().int().min(3).max(6).default(4),
    // Overrides only: defaults are applied later (parseSearchConfig / parseLinearizeConfig), so an
    // absent seed here really is absent and the run seed can stand in for it.
    search: overridesOf(SearchConfigSchema).default({}),
    linearize: overridesOf(LinearizeConfig).default({}),
    /** Self-evaluation of correct terminals by the LLM policy (ASTRO-METHOD §3.2): N judgments, all must approve. Off when absent. */
    selfEval: z.object({ judgments: z.number().int().positive().default(8) }).strict().optional(),
    /** LLM rewriting of forward steps and backtrack clauses (§4), each rewritten trace re-verified. Off when absent. */
    rewrite: z.object({ steps: z.boolean().default(true), backtracks: z.boolean().default(true) }).strict().optional(),
    /** Problems searched at once. */
    concurrency: z.number().int().positive().default(2),
    /** Iterations of one tree in flight at once (virtual loss); 1 = sequential and reproducible. */
    parallelIterations: z.number().int().positive().default(1),
    /** `run --train` settings (streams/trainer/trainConfig.ts), validated there. */
    train: z.record(z.string(), z.unknown()).optional(),
    /** Kafka bootstrap brokers; absent = the in-process memory transport. */
    brokers: z.array(z.string().min(1)).min(1).optional(),
    /** Partitions per data topic (scale-out bound for stage processes). */
    partitions: z.number().int().positive().default(4),
    verifyTimeoutMs: z.number().int().positive().default(30_000),
    sink: z
      .object({
        /** Records per Parquet/Arrow shard at most. */
        maxRecords: z.number().int().positive().default(1000),
        /**
         * A partial shard is written this long after its first record (ms). Default 250 for a
         * finite run and the stage processes, SINK_LINGER_TRAINING_MS for `run --train`.
         */
        lingerMs: z.number().int().nonnegative().optional(),
      })
      .strict()
      .default({ maxRecords: 1000 }),
    /** The policy: onnx (built-in Countdown network), openai (any OpenAI-compatible server) or dry-run (synthetic). */
    policy: PolicySettings.prefault({}),
  })
  .strict();
export type RunConfig = z.infer<typeof RunConfig>;

/** Sink linger of a finite run and of the stage processes (ms). */
export const SINK_LINGER_MS = 250;
/**
 * Sink linger of `run --train` (ms): its stream never ends, and 250 ms wrote ~20 small files a
 * second (1,961 in 90 s); every 10 s makes a few files per partition per 10 s instead.
 */
export const SINK_LINGER_TRAINING_MS = 10_000;

/** Reads `--config FILE` (JSON); a bad file is a `config` error naming the file and the reason. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('config', `cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('top level must be a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new AppError('config', `config file ${path} is not valid: ${(error as Error).message}`);
  }
}

/** Deep-merges plain objects (later wins); arrays and scalars are replaced. */
export function mergeConfig(...layers: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const prev = out[key];
      const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
      out[key] = isObject(prev) && isObject(value) ? mergeConfig(prev, value) : value;
    }
  }
  return out;
}

/** Validates a merged config; every bad field is named in one `config` error. */
export function parseRunConfig(input: Record<string, unknown>): RunConfig {
  const parsed = RunConfig.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AppError('config', `invalid configuration: ${issues}`);
  }
  return parsed.data;
}

/** `--k-mix 0,1,1,2` → [0, 1, 1, 2]. */
export function parseKMix(text: string): number[] {
  const values = text.split(',').map((part) => part.trim());
  if (values.length === 0 || values.some((v) => !/^\d+$/.test(v))) {
    throw new AppError('config', `--k-mix must be comma-separated non-negative integers, got ${JSON.stringify(text)}`);
  }
  return values.map(Number);
}

/** Integer flag parser for commander that names the flag in its error. */
export function intFlag(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new AppError('config', `${name} must be an integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** Number flag parser for commander that names the flag in its error. */
export function numberFlag(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new AppError('config', `${name} must be a number, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--rewrite steps,backtracks` → which parts to rewrite. */
export function parseRewrite(text: string): { steps: boolean; backtracks: boolean } {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0 || parts.some((p) => p !== 'steps' && p !== 'backtracks')) {
    throw new AppError('config', `--rewrite must be steps, backtracks or both (comma-separated), got ${JSON.stringify(text)}`);
  }
  return { steps: parts.includes('steps'), backtracks: parts.includes('backtracks') };
}

/** `--brokers a:9092,b:9092` → ['a:9092', 'b:9092']. */
export function parseBrokers(text: string): string[] {
  const brokers = text.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (brokers.length === 0 || brokers.some((b) => !/^[^:\s]+:\d+$/.test(b))) {
    throw new AppError('config', `--brokers must be comma-separated host:port pairs, got ${JSON.stringify(text)}`);
  }
  return brokers;
}

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import type { Domain } from '../../domains/domain.js';
import { AppError } from '../../operators/common/errors.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { createDryRunPolicy } from './dryRunPolicy.js';
import { createOnnxCountdownPolicy } from './onnxPolicy.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatPolicyVersion } from '../../operators/rl/staleness.js';
import { PolicyVersionCodec, type PolicyVersion } from '../../schemas/policyVersion.js';
import { assertGguf, sha256File, startServedGgufPolicy, type ServedGgufPolicy } from '../llm/servedGgufPolicy.js';
import { createOpenAiPolicy, DEFAULT_OPENAI_POLICY_CONFIG, type OpenAiPolicyConfig, type OpenAiPolicyDeps } from './openai/openaiPolicy.js';
import { PROMPT_FAMILIES, PROMPT_FAMILY_NAMES, promptFamilyOf } from './openai/promptTemplate.js';

/**
 * Which policy proposes steps, and its knobs (the `policy` section of a run config). One flat
 * object so config files and flags merge field by field; each kind reads its own fields.
 */
export const PolicySettings = z
  .object({
    kind: z.enum(['onnx', 'openai', 'dry-run']).default('onnx'),
    /** onnx: model file (default: the shipped initial Countdown network); openai: model id (default: the server's first model). */
    model: z.string().optional(),
    /** onnx: states per onnxruntime call (1 = no batching, the benchmark baseline). */
    maxBatch: z.number().int().positive().default(4096),
    /** openai: base URL including `/v1`. */
    baseUrl: z.string().url().optional(),
    /** openai: `completions` (our prompt template) or `chat` (`/v1/chat/completions`, the server's chat template). */
    endpoint: z.enum(['completions', 'chat']).default(DEFAULT_OPENAI_POLICY_CONFIG.endpoint),
    /** openai, completions endpoint: prompt format by model family (default: guessed from the model id, else llama3). */
    family: z.enum(PROMPT_FAMILY_NAMES as [string, ...string[]]).optional(),
    /** openai: prompt template with `{{prompt}}` and `{{steps}}`; overrides the family's. */
    template: z.string().optional(),
    /** openai: stop strings that end the assistant turn; override the family's. */
    endStops: z.array(z.string()).optional(),
    /** openai: largest `n` per request (default: learned from the server). */
    maxN: z.number().int().positive().optional(),
    /** openai: one choice per request on servers whose usage counts one choice (llama.cpp), so token counts are exact. */
    exactUsage: z.boolean().default(DEFAULT_OPENAI_POLICY_CONFIG.exactUsage),
    /** openai: how long a server outage is ridden out before requests fail into the DLQ (ms). */
    outageMs: z.number().int().nonnegative().default(DEFAULT_OPENAI_POLICY_CONFIG.breaker.outageMs),
    /** openai: global bound on requests in flight. */
    maxInFlight: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.maxInFlight),
    /** openai: one HTTP attempt's time limit (ms). */
    timeoutMs: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.timeoutMs),
    /** openai: attempts per request (1 = no retries). */
    attempts: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.retry.attempts),
    /** openai: first retry delay (ms); ×2 per retry, ±20% jitter, 30 s cap. */
    backoffMs: z.number().int().nonnegative().default(DEFAULT_OPENAI_POLICY_CONFIG.retry.initialDelayMs),
    maxStepTokens: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.maxStepTokens),
    maxRolloutTokens: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.maxRolloutTokens),
    logprobs: z.boolean().default(true),
    /** openai: consecutive failures that open the circuit breaker, and how long it stays open (ms). */
    breakerThreshold: z.number().int().positive().default(DEFAULT_OPENAI_POLICY_CONFIG.breaker.failureThreshold),
    breakerCooldownMs: z.number().int().nonnegative().default(DEFAULT_OPENAI_POLICY_CONFIG.breaker.cooldownMs),
    /** openai: a GGUF file to serve on a `llama-server` this process starts and stops (instead of `baseUrl`). */
    serve: z.string().optional(),
    /** openai with `serve`: switch to each newer GGUF version published to `<dir>/versions.jsonl`, or to `astro.policy.v1` on the run's brokers (`topic`). */
    follow: z.string().optional(),
    /** openai with `serve`: the policy family whose versions are followed and recorded (`python -m astro_lm rl --policy`). */
    policyName: z.string().min(1).default('astro-lm'),
    /** openai with `serve`: server slots (default: the largest n of the search, max(k, M)). */
    slots: z.number().int().positive().optional(),
    /** openai with `serve`: context of one slot in tokens. */
    ctxPerSlot: z.number().int().positive().default(4096),
    /** openai with `serve`: CPU threads of the server (default: llama.cpp's). */
    threads: z.number().int().positive().optional(),
    /** openai with `serve`: after a switch, how long the old server may finish its requests before it stops (ms); the rest are retried on the new one. */
    drainMs: z.number().int().nonnegative().default(30_000),
    /** dry-run: probability that a sampled step is a mistake. */
    mistakeRate: z.number().min(0).max(1).default(0.3),
  })
  .strict();
export type PolicySettings = z.infer<typeof PolicySettings>;

/**
 * The problem domains each policy kind can search: the built-in network knows only Countdown's
 * action space (a math problem would come back as a root-only tree); an LLM and the dry-run
 * rehearsal work from the problem text and its reference solution in any domain.
 */
export const POLICY_DOMAINS: Readonly<Record<PolicySettings['kind'], readonly string[] | 'any'>> = {
  onnx: ['countdown'],
  openai: 'any',
  'dry-run': 'any',
};

/**
 * Why the policy `kind` cannot search problems of `domain` (naming the domain and the policies
 * that can), or undefined when it can. The one check behind the start-up refusal
 * ({@link assertPolicyServes}) and the search stage's per-record dead letter.
 */
export function policyDomainMismatch(kind: PolicySettings['kind'], domain: string): string | undefined {
  const served = POLICY_DOMAINS[kind];
  if (served === 'any' || served.includes(domain)) return undefined;
  const able = Object.entries(POLICY_DOMAINS)
    .filter(([, d]) => d === 'any' || d.includes(domain))
    .map(([k]) => `--policy ${k}`);
  return `the ${kind} policy searches ${served.join(', ')} problems only, and these problems are ${domain}: use ${able.join(' or ') || 'another policy'}`;
}

/**
 * Fails with a `config` AppError naming the domain and the policies that can serve it when the
 * policy `kind` cannot search problems of `domain`: checked at start, before any work is spent.
 */
export function assertPolicyServes(kind: PolicySettings['kind'], domain: string): void {
  const mismatch = policyDomainMismatch(kind, domain);
  if (mismatch !== undefined) throw new AppError('config', mismatch);
}

/** What building a policy may need from outside. */
export interface PolicyFactoryDeps {
  readonly domainOf: (name: string) => Pick<Domain, 'prompt'>;
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly metrics?: Metrics;
  readonly logger?: Logger;
  /** openai: API key (the CLI passes `OPENAI_API_KEY`). */
  readonly apiKey?: string;
  /** openai with `serve`: the llama-server binary (built on demand), where servers keep state, and the default slots. */
  readonly served?: ServedPolicyEnv;
}

/** What serving a GGUF needs from outside the settings. */
export interface ServedPolicyEnv {
  readonly llamaServer: () => Promise<string>;
  readonly dir: string;
  readonly slots: number;
}

/**
 * Builds the configured policy: `onnx` (built-in Countdown network), `openai` (any
 * OpenAI-compatible server; without a model id it asks `GET /v1/models` and takes the first), or
 * `dry-run` (synthetic steps from reference solutions). Missing required settings are `config` errors.
 */
export async function createPolicy(settings: PolicySettings, deps: PolicyFactoryDeps): Promise<Policy> {
  switch (settings.kind) {
    case 'onnx':
      return createOnnxCountdownPolicy({ maxBatch: settings.maxBatch, ...(settings.model === undefined ? {} : { modelPath: settings.model }) });
    case 'dry-run':
      return createDryRunPolicy({ mistakeRate: settings.mistakeRate });
    case 'openai': {
      if (settings.serve !== undefined) return createServedPolicy(settings, settings.serve, deps);
      if (settings.follow !== undefined) throw new AppError('config', '--follow-policies needs --serve-gguf: only a server this process runs can be switched to a new version');
      if (settings.baseUrl === undefined) throw new AppError('config', '--policy openai needs --base-url (e.g. http://127.0.0.1:8000/v1) or --serve-gguf FILE.gguf');
      const model = settings.model ?? (await firstModel(settings.baseUrl, settings.timeoutMs, deps.apiKey));
      return createOpenAiPolicy({ ...openAiConfig(settings, model), baseUrl: settings.baseUrl, model, ...(deps.apiKey === undefined ? {} : { apiKey: deps.apiKey }) }, openAiDeps(deps));
    }
  }
}

/** The openai policy's settings other than the server and the model. */
function openAiConfig(settings: PolicySettings, model: string): Omit<OpenAiPolicyConfig, 'baseUrl' | 'model'> {
  const family = PROMPT_FAMILIES[(settings.family ?? promptFamilyOf(model)) as keyof typeof PROMPT_FAMILIES];
  return {
    ...DEFAULT_OPENAI_POLICY_CONFIG,
    endpoint: settings.endpoint,
    template: settings.template ?? family.template,
    endStops: settings.endStops ?? family.stops,
    ...(settings.maxN === undefined ? {} : { maxN: settings.maxN }),
    exactUsage: settings.exactUsage,
    maxInFlight: settings.maxInFlight,
    timeoutMs: settings.timeoutMs,
    retry: { ...DEFAULT_OPENAI_POLICY_CONFIG.retry, attempts: settings.attempts, initialDelayMs: settings.backoffMs },
    maxStepTokens: settings.maxStepTokens,
    maxRolloutTokens: settings.maxRolloutTokens,
    logprobs: settings.logprobs,
    breaker: { failureThreshold: settings.breakerThreshold, cooldownMs: settings.breakerCooldownMs, outageMs: settings.outageMs },
  };
}

function openAiDeps(deps: PolicyFactoryDeps): OpenAiPolicyDeps {
  return {
    promptOf: (problem) => deps.domainOf(problem.domain).prompt(problem),
    clock: deps.clock,
    sleep: deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    // Jitter only spreads retries in time; it never changes outputs.
    random: deps.random ?? Math.random,
    ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  };
}

/**
 * The openai policy over a llama-server this process starts on `gguf`. The model is recorded as
 * `<policyName>@v<N>.<sha12>`: N is the version `versions.jsonl` of `follow` gives this file's
 * sha256, else 0 (a GGUF never published, e.g. the SFT export).
 */
async function createServedPolicy(settings: PolicySettings, gguf: string, deps: PolicyFactoryDeps): Promise<ServedGgufPolicy> {
  if (deps.served === undefined) throw new TypeError('serving a GGUF needs the served-policy environment');
  if (settings.baseUrl !== undefined) throw new AppError('config', '--serve-gguf and --base-url exclude each other: serve a file here, or use a server that runs');
  await assertGguf(gguf);
  const sha256 = await sha256File(gguf);
  const published = settings.follow === undefined || settings.follow === FOLLOW_TOPIC ? [] : readVersionsFile(join(settings.follow, VERSIONS_FILE));
  const version = published.find((v) => v.policy === settings.policyName && v.sha256 === sha256)?.version ?? 0;
  const label = formatPolicyVersion(settings.policyName, version, sha256);
  const logger = deps.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
  return startServedGgufPolicy(
    {
      server: await deps.served.llamaServer(),
      initial: { label, path: resolve(gguf) },
      dir: deps.served.dir,
      slots: settings.slots ?? deps.served.slots,
      ctxPerSlot: settings.ctxPerSlot,
      ...(settings.threads === undefined ? {} : { threads: settings.threads }),
      drainMs: settings.drainMs,
      // The exported models speak the Llama-3 chat layout (streams/trainer/lm/astro_lm/chat.py).
      openai: openAiConfig({ ...settings, family: settings.family ?? 'llama3' }, label),
    },
    { ...openAiDeps(deps), logger },
  );
}

/** `--follow-policies topic`: the `astro.policy.v1` topic of the run's brokers. */
export const FOLLOW_TOPIC = 'topic';
/** The file `python -m astro_lm rl` appends every published version to. */
export const VERSIONS_FILE = 'versions.jsonl';

/** The decodable records of a `versions.jsonl` (none when it does not exist). */
export function readVersionsFile(path: string): PolicyVersion[] {
  if (!existsSync(path)) return [];
  const records: PolicyVersion[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const decoded = PolicyVersionCodec.decode(new TextEncoder().encode(line));
    if (decoded.ok) records.push(decoded.value);
  }
  return records;
}

/** `GET {baseUrl}/models` → the first model id; an unreachable server is a `config` error naming the URL. */
export function firstModel(baseUrl: string, timeoutMs: number, apiKey?: string): Promise<string> {
  const url = new URL('models', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { id?: unknown }[] };
          const id = body.data?.[0]?.id;
          if (typeof id !== 'string') throw new Error('no model listed');
          resolve(id);
        } catch (error) {
          reject(new AppError('config', `cannot read a model id from ${url.href} (HTTP ${res.statusCode ?? '?'}): ${(error as Error).message}; pass --model`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new AppError('config', `cannot reach the policy server at ${url.href}: ${error.message}`)));
    req.end();
  });
}

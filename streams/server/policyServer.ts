import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { AppError } from '../../operators/common/errors.js';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import type { Policy } from '../../operators/mcts/policy.js';
import { createInFlightLimiter } from '../policies/openai/inFlightLimiter.js';
import { countdownTokens } from '../../domains/countdown/tokenizer.js';
import { completeWithPolicy } from './completionEngine.js';

/** Injected failures, for testing clients: every Nth completions request misbehaves (0 = never). */
export interface FailureModes {
  /** Every Nth request answers HTTP 500. */
  readonly errorEvery: number;
  /** Every Nth request waits `slowMs` more before answering. */
  readonly slowEvery: number;
  readonly slowMs: number;
  /** Every Nth request sends half its body and closes the connection. */
  readonly truncateEvery: number;
}

export const NO_FAILURES: FailureModes = { errorEvery: 0, slowEvery: 0, slowMs: 0, truncateEvery: 0 };

/** What `serve-policy` serves and how it throttles. */
export interface PolicyServerConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Model id reported by `/v1/models` and in responses. */
  readonly model: string;
  /** Emulated generation time per request (ms), spent while holding a concurrency slot. */
  readonly latencyMs: number;
  /** Requests generating at once; the rest wait in a FIFO queue. */
  readonly maxConcurrency: number;
  /**
   * Requests that may wait for a slot (reading their body or queued): beyond it a request is
   * answered 429 with `Retry-After` at once, so memory stays bounded by about
   * (maxConcurrency + maxQueue) × the 4 MiB body limit. Default {@link DEFAULT_MAX_QUEUE}.
   */
  readonly maxQueue?: number;
  readonly failures: FailureModes;
}

/** Default bound of the wait queue of `serve-policy`. */
export const DEFAULT_MAX_QUEUE = 128;

export interface PolicyServerDeps {
  /** The policy that answers (the built-in ONNX Countdown policy for `serve-policy`). */
  readonly policy: Policy;
  /** Epoch ms, for queue-time accounting. */
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
  /** Per answered request: `policy_server.request_ms` (arrival to answer) and `policy_server.request_tokens{kind}`. */
  readonly metrics?: Metrics;
}

/** `GET /stats`. */
export interface PolicyServerStats {
  /** Completions requests received. */
  readonly requests: number;
  /** Completions requests answered with 200. */
  readonly served: number;
  readonly errors: number;
  readonly injected: { readonly errors: number; readonly slow: number; readonly truncated: number };
  readonly in_flight: number;
  readonly queued: number;
  readonly peak_concurrency: number;
  readonly queue_ms_total: number;
  readonly queue_ms_max: number;
  readonly queue_ms_mean: number;
  readonly choices: number;
  /** Requests answered 429 because the wait queue was full. */
  readonly rejected_queue_full: number;
  /** Requests whose client disconnected while they waited: dropped without generating. */
  readonly dropped_disconnected: number;
  /** Most requests held at once (reading their body, queued or generating): never above max concurrency + `max_queue`. */
  readonly peak_admitted: number;
  readonly max_queue: number;
}

export interface RunningPolicyServer {
  readonly port: number;
  /** `http://host:port/v1`, what a client's `--base-url` takes. */
  readonly baseUrl: string;
  stats(): PolicyServerStats;
  close(): Promise<void>;
}

const CompletionBody = z.object({
  model: z.string().optional(),
  prompt: z.string(),
  n: z.number().int().min(1).max(1024).default(1),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.union([z.string(), z.array(z.string())]).optional(),
  logprobs: z.number().int().min(0).nullable().optional(),
});

// llama.cpp's /tokenize reads `content`, vLLM's reads `prompt`: either is accepted.
const TokenizeBody = z.union([z.object({ content: z.string() }), z.object({ prompt: z.string() })]);

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const PROMPT_TOKENS = { kind: 'prompt' } as const;
const COMPLETION_TOKENS = { kind: 'completion' } as const;

/**
 * An OpenAI-compatible server (`/v1/models`, `/v1/completions`, `POST /tokenize`, `GET /stats`) on node:http, backed
 * by a {@link Policy}. Each completions request waits for one of `maxConcurrency` slots, then holds
 * it for `latencyMs` plus the real compute: the server's limit is `maxConcurrency / latencyMs`
 * requests per ms, like a model server with a fixed batch size. Failure modes misbehave on every
 * Nth request (counted in arrival order) so client retries can be tested deterministically.
 */
export async function startPolicyServer(config: PolicyServerConfig, deps: PolicyServerDeps): Promise<RunningPolicyServer> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const limiter = createInFlightLimiter(config.maxConcurrency);
  const maxQueue = config.maxQueue ?? DEFAULT_MAX_QUEUE;
  // Admitted requests that do not hold a slot yet (reading their body, or queued for a slot).
  let waiting = 0;
  let peakAdmitted = 0;
  let rejectedQueueFull = 0;
  let droppedDisconnected = 0;
  let requests = 0;
  let served = 0;
  let errors = 0;
  let choices = 0;
  let queueTotal = 0;
  let queueMax = 0;
  let queueCount = 0;
  const injected = { errors: 0, slow: 0, truncated: 0 };
  const every = (n: number, r: number): boolean => n > 0 && r % n === 0;

  const stats = (): PolicyServerStats => ({
    requests,
    served,
    errors,
    injected: { ...injected },
    in_flight: limiter.inFlight(),
    queued: limiter.queued(),
    peak_concurrency: limiter.peak(),
    queue_ms_total: queueTotal,
    queue_ms_max: queueMax,
    queue_ms_mean: queueCount === 0 ? 0 : queueTotal / queueCount,
    choices,
    rejected_queue_full: rejectedQueueFull,
    dropped_disconnected: droppedDisconnected,
    peak_admitted: peakAdmitted,
    max_queue: maxQueue,
  });

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, message: string, type: string): void => {
    if (status >= 400) errors += 1;
    send(res, status, { error: { message, type, code: status } });
  };

  const completions = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests += 1;
    const r = requests;
    const arrived = deps.clock();
    // Full: every slot busy and `maxQueue` requests already waiting. Answered before the body is
    // read, so a flood of large requests cannot grow memory.
    const freeSlots = config.maxConcurrency - limiter.inFlight();
    if (waiting - Math.max(0, freeSlots) >= maxQueue) {
      rejectedQueueFull += 1;
      // When a slot is likely free: the queue ahead drains maxConcurrency requests per latency.
      const retryAfterS = Math.max(1, Math.ceil(((waiting / config.maxConcurrency + 1) * Math.max(config.latencyMs, 1)) / 1000));
      res.setHeader('retry-after', String(retryAfterS));
      res.setHeader('connection', 'close');
      sendError(res, 429, `server busy: ${waiting} requests already wait for ${config.maxConcurrency} slots (--max-queue ${maxQueue}); retry after ${retryAfterS} s`, 'rate_limit_error');
      req.resume();
      return;
    }
    waiting += 1;
    peakAdmitted = Math.max(peakAdmitted, waiting + limiter.inFlight());
    // A client that gave up (timeout, cancelled retry) is gone: its request is not worth a slot.
    let gone = false;
    res.once('close', () => {
      if (!res.writableFinished) gone = true;
    });
    let body: z.infer<typeof CompletionBody> | undefined;
    try {
      const raw = await readBody(req);
      const parsed = CompletionBody.safeParse(raw);
      if (!parsed.success) {
        sendError(res, 400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 'invalid_request_error');
        return;
      }
      body = parsed.data;
    } finally {
      if (body === undefined) waiting -= 1;
    }
    await limiter.run(async () => {
      waiting -= 1;
      if (gone) {
        droppedDisconnected += 1;
        body = undefined;
        return;
      }
      const request = body as z.infer<typeof CompletionBody>;
      body = undefined;
      const waited = deps.clock() - arrived;
      queueTotal += waited;
      queueCount += 1;
      queueMax = Math.max(queueMax, waited);
      const slow = every(config.failures.slowEvery, r);
      if (slow) injected.slow += 1;
      // The emulated latency is the generation time: the real compute runs inside it, not after it,
      // so a slot is held for max(latency, compute) as on a real server.
      const computed = completeWithPolicy(deps.policy, { ...request, stop: typeof request.stop === 'string' ? [request.stop] : request.stop }, r).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      await sleep(config.latencyMs + (slow ? config.failures.slowMs : 0));
      if (every(config.failures.errorEvery, r)) {
        injected.errors += 1;
        await computed;
        sendError(res, 500, `injected failure on request ${r}`, 'server_error');
        return;
      }
      const outcome = await computed;
      let result;
      try {
        if (!outcome.ok) throw outcome.error;
        result = outcome.value;
      } catch (error) {
        if (error instanceof AppError && !error.retriable) sendError(res, 400, error.message, 'invalid_request_error');
        else sendError(res, 500, error instanceof Error ? error.message : String(error), 'server_error');
        return;
      }
      const payload = JSON.stringify({ id: `cmpl-${r}`, object: 'text_completion', created: Math.floor(deps.clock() / 1000), model: config.model, ...result });
      if (every(config.failures.truncateEvery, r)) {
        injected.truncated += 1;
        // Promise the whole body, send half, then drop the connection: what a crashed proxy does.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.write(payload.slice(0, Math.floor(payload.length / 2)));
        await sleep(5);
        res.destroy();
        return;
      }
      served += 1;
      choices += result.choices.length;
      deps.metrics?.observe('policy_server.request_ms', deps.clock() - arrived);
      deps.metrics?.observe('policy_server.request_tokens', result.usage.prompt_tokens, PROMPT_TOKENS);
      deps.metrics?.observe('policy_server.request_tokens', result.usage.completion_tokens, COMPLETION_TOKENS);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      send(res, 200, { object: 'list', data: [{ id: config.model, object: 'model', created: 0, owned_by: 'astro-stream' }] });
    } else if (req.method === 'POST' && path === '/v1/completions') {
      await completions(req, res);
    } else if (req.method === 'POST' && path === '/tokenize') {
      // As llama.cpp's and vLLM's: the tokens of a text with this server's tokenizer (the one its usage counts).
      const parsed = TokenizeBody.safeParse(await readBody(req));
      if (!parsed.success) sendError(res, 400, 'expected {"content": text} or {"prompt": text}', 'invalid_request_error');
      else {
        const tokens = countdownTokens('content' in parsed.data ? parsed.data.content : parsed.data.prompt);
        send(res, 200, { tokens, count: tokens.length, tokenizer: 'countdown-pretokens@1' });
      }
    } else if (req.method === 'GET' && path === '/stats') {
      send(res, 200, stats());
    } else if (req.method === 'GET' && path === '/health') {
      send(res, 200, { ok: true });
    } else {
      sendError(res, 404, `no route ${req.method ?? ''} ${path ?? ''}`, 'not_found');
    }
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      deps.logger?.error('serve-policy: request failed', { error: String(error) });
      if (!res.headersSent) sendError(res, error instanceof BodyError ? 400 : 500, error instanceof Error ? error.message : String(error), 'server_error');
      else res.destroy();
    });
  });
  // Clients keep connections alive between requests; without this Node would close idle ones after 5 s mid-run.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    baseUrl: `http://${config.host}:${port}/v1`,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

class BodyError extends Error {}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BodyError('request body is not JSON');
  }
}

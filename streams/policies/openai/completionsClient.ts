import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AppError } from '../../../operators/common/errors.js';
import { parseCompletionResponse, type CompletionResponse } from './completionResponse.js';
import { parseRetryAfterMs } from './retryAfter.js';

/** One chat turn (`/v1/chat/completions`). */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * One sampling request. With `prompt` it goes to `POST /v1/completions`; with `messages` to `POST
 * /v1/chat/completions`, where the server applies the model's chat template and a final assistant
 * message is continued (the steps so far), not answered.
 */
export interface CompletionRequest {
  readonly model: string;
  readonly prompt?: string;
  readonly messages?: readonly ChatMessage[];
  readonly n: number;
  readonly max_tokens: number;
  readonly temperature: number;
  readonly top_p: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  /** Return the sampled tokens' log-probabilities (legacy `logprobs: 1`; chat `logprobs: true, top_logprobs: 1`). */
  readonly logprobs?: number;
}

/** Where the server is and how long one HTTP attempt may take. */
export interface CompletionsClientConfig {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Whole-attempt time limit: connect, wait, and read the body (ms). */
  readonly timeoutMs: number;
  /** Sockets kept open to the server; should be ≥ the in-flight bound so requests never wait for a socket. */
  readonly maxSockets: number;
}

/** What the client needs from outside. */
export interface CompletionsClientDeps {
  /**
   * Epoch ms, to measure a `Retry-After` date from when a response has no `Date` header (the
   * server's own clock is used when it has one). Default: the system clock.
   */
  readonly clock?: () => number;
}

/** An HTTP error status, with the start of the body (the policy reads `n` limits out of 400s). */
export class HttpStatusError extends AppError {
  readonly status: number;
  readonly body: string;
  constructor(status: number, url: string, body: string) {
    super('policy', `HTTP ${status} from ${url}: ${body.slice(0, 200)}`, { retriable: status === 408 || status >= 500 });
    this.status = status;
    this.body = body.slice(0, 2000);
  }
}

/**
 * The server is not there or not serving: connection refused or reset before an answer, 502/503/504
 * (proxies, a model still loading), 429 (overloaded). Retried without using up the request's
 * attempts; the circuit breaker bounds how long (`outageMs`). `retryAfterMs` is how long the
 * server's `Retry-After` header asked to wait, when it sent one.
 */
export class ServerUnavailableError extends AppError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, cause?: unknown, retryAfterMs?: number) {
    super('policy', message, { retriable: true, ...(cause === undefined ? {} : { cause }) });
    this.retryAfterMs = retryAfterMs;
  }
}

/** One HTTP call to an OpenAI-compatible server; failures are typed AppErrors. */
export interface CompletionsClient {
  complete(body: CompletionRequest): Promise<CompletionResponse>;
  /** `GET` a JSON document relative to the base URL (`models`, or `/props` at the server root); undefined when absent or unreadable. */
  getJson?(path: string): Promise<unknown>;
  close(): void;
}

const UNAVAILABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * A minimal OpenAI-compatible client on node:http with keep-alive. It makes exactly one attempt:
 * retries, the breaker and the in-flight bound wrap it (openaiPolicy.ts). Failures are classified
 * for retry: an unreachable or unavailable server is a {@link ServerUnavailableError}; timeouts,
 * other 5xx and truncated or unparseable bodies are retriable; other 4xx and bodies of the wrong
 * shape are not.
 */
export function createCompletionsClient(config: CompletionsClientConfig, deps: CompletionsClientDeps = {}): CompletionsClient {
  const clock = deps.clock ?? Date.now;
  const base = new URL(config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`);
  const completionsUrl = new URL('completions', base);
  const chatUrl = new URL('chat/completions', base);
  const secure = base.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: config.maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets: config.maxSockets });
  const request = secure ? httpsRequest : httpRequest;
  const auth = config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` };

  const send = (method: 'GET' | 'POST', url: URL, payload: Buffer | null, timeoutMs: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      let settled = false;
      const settle = (error: AppError | null, text?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== null) reject(error);
        else resolve(text ?? '');
      };
      const req = request(url, {
        method,
        agent,
        headers: payload === null ? auth : { 'content-type': 'application/json', 'content-length': String(payload.length), ...auth },
      });
      const timer = setTimeout(() => {
        settle(new AppError('timeout', `${method} ${url.href} took longer than ${timeoutMs} ms`, { retriable: true }));
        req.destroy();
      }, timeoutMs);
      // No response at all: refused, reset, DNS; the server is not there (yet, or any more).
      req.on('error', (error) => settle(new ServerUnavailableError(`${method} ${url.href} failed: ${error.message}`, error)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        // A body cut short (connection closed before Content-Length bytes) surfaces as 'aborted'/'error'.
        res.on('aborted', () => settle(new AppError('policy', `${method} ${url.href}: response body truncated`, { retriable: true })));
        res.on('error', (error) => settle(new AppError('policy', `${method} ${url.href}: response body truncated (${error.message})`, { retriable: true, cause: error })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (UNAVAILABLE_STATUS.has(status)) {
            const serverNow = res.headers.date === undefined ? Number.NaN : Date.parse(res.headers.date);
            const retryAfterMs = parseRetryAfterMs(res.headers['retry-after'], Number.isNaN(serverNow) ? clock() : serverNow);
            const asked = retryAfterMs === undefined ? '' : ` (Retry-After: ${res.headers['retry-after'] ?? ''})`;
            settle(new ServerUnavailableError(`HTTP ${status} from ${url.href}${asked}: ${text.slice(0, 200)}`, undefined, retryAfterMs));
          } else if (status < 200 || status >= 300) settle(new HttpStatusError(status, url.href, text));
          else settle(null, text);
        });
      });
      req.end(payload ?? undefined);
    });

  const complete = async (body: CompletionRequest): Promise<CompletionResponse> => {
    const url = body.messages === undefined ? completionsUrl : chatUrl;
    const text = await send('POST', url, Buffer.from(JSON.stringify(wireBody(body))), config.timeoutMs);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError('policy', `POST ${url.href}: response body is not complete JSON (${text.length} bytes; truncated?)`, { retriable: true });
    }
    const parsed = parseCompletionResponse(json);
    if (!parsed.ok) throw new AppError('policy', `POST ${url.href}: unexpected response shape: ${parsed.error}`);
    return parsed.value;
  };

  const getJson = async (path: string): Promise<unknown> => {
    try {
      return JSON.parse(await send('GET', new URL(path, base), null, Math.min(config.timeoutMs, 10_000))) as unknown;
    } catch {
      return undefined;
    }
  };

  return { complete, getJson, close: () => agent.destroy() };
}

/** The JSON body on the wire: chat requests ask for log-probabilities the chat way and continue a final assistant turn. */
function wireBody(body: CompletionRequest): Record<string, unknown> {
  if (body.messages === undefined) return { ...body };
  const { logprobs, ...rest } = body;
  const continues = body.messages.at(-1)?.role === 'assistant';
  return {
    ...rest,
    ...(logprobs === undefined ? {} : { logprobs: true, top_logprobs: logprobs }),
    // vLLM, SGLang and llama.cpp continue the last assistant message with these (the steps so far are its start).
    ...(continues ? { continue_final_message: true, add_generation_prompt: false } : {}),
  };
}

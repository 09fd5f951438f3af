import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { AppError } from '../../../operators/common/errors.js';

/** The request body of `POST /v1/completions` (the fields this project sends). */
export interface CompletionRequest {
  readonly model: string;
  readonly prompt: string;
  readonly n: number;
  readonly max_tokens: number;
  readonly temperature: number;
  readonly top_p: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  /** Legacy completions: how many top alternatives per token; 1 returns the sampled tokens' log-probabilities. */
  readonly logprobs?: number;
}

const Choice = z.object({
  index: z.number().int().nonnegative().optional(),
  text: z.string(),
  finish_reason: z.string().nullable().optional(),
  logprobs: z
    .object({
      tokens: z.array(z.string()).optional(),
      token_logprobs: z.array(z.number().nullable()).optional(),
    })
    .nullable()
    .optional(),
});

/** The response of `POST /v1/completions` (fields we read; others are ignored). */
export const CompletionResponse = z.object({
  id: z.string().optional(),
  model: z.string().optional(),
  choices: z.array(Choice),
  usage: z
    .object({ prompt_tokens: z.number().nonnegative(), completion_tokens: z.number().nonnegative() })
    .partial()
    .nullable()
    .optional(),
});
export type CompletionResponse = z.infer<typeof CompletionResponse>;
export type CompletionChoice = z.infer<typeof Choice>;

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

/** One HTTP call to an OpenAI-compatible completions endpoint; failures are typed AppErrors. */
export interface CompletionsClient {
  complete(body: CompletionRequest): Promise<CompletionResponse>;
  close(): void;
}

/**
 * A minimal `/v1/completions` client on node:http with keep-alive. It makes exactly one attempt:
 * retries, the breaker and the in-flight bound wrap it (openaiPolicy.ts). Failures are classified
 * for retry: timeouts, connection errors, 429, 5xx and truncated or unparseable bodies are
 * retriable; other 4xx and bodies of the wrong shape are not.
 */
export function createCompletionsClient(config: CompletionsClientConfig): CompletionsClient {
  const base = new URL(config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`);
  const url = new URL('completions', base);
  const secure = url.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: config.maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets: config.maxSockets });
  const request = secure ? httpsRequest : httpRequest;

  const complete = (body: CompletionRequest): Promise<CompletionResponse> =>
    new Promise<CompletionResponse>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      let settled = false;
      const settle = (error: AppError | null, value?: CompletionResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== null) reject(error);
        else resolve(value as CompletionResponse);
      };
      const req = request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          ...(config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` }),
        },
      });
      const timer = setTimeout(() => {
        settle(new AppError('timeout', `POST ${url.href} took longer than ${config.timeoutMs} ms`, { retriable: true }));
        req.destroy();
      }, config.timeoutMs);
      req.on('error', (error) => settle(new AppError('policy', `POST ${url.href} failed: ${error.message}`, { retriable: true, cause: error })));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        // A body cut short (connection closed before Content-Length bytes) surfaces as 'aborted'/'error'.
        res.on('aborted', () => settle(new AppError('policy', `POST ${url.href}: response body truncated`, { retriable: true })));
        res.on('error', (error) => settle(new AppError('policy', `POST ${url.href}: response body truncated (${error.message})`, { retriable: true, cause: error })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            const retriable = status === 429 || status >= 500 || status === 408;
            settle(new AppError('policy', `HTTP ${status} from ${url.href}: ${text.slice(0, 200)}`, { retriable }));
            return;
          }
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            settle(new AppError('policy', `POST ${url.href}: response body is not complete JSON (${text.length} bytes; truncated?)`, { retriable: true }));
            return;
          }
          const parsed = CompletionResponse.safeParse(json);
          if (!parsed.success) {
            settle(new AppError('policy', `POST ${url.href}: unexpected response shape: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`));
            return;
          }
          settle(null, parsed.data);
        });
      });
      req.end(payload);
    });

  return { complete, close: () => agent.destroy() };
}

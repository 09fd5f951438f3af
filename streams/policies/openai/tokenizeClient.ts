import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../../../operators/common/errors.js';
import type { TokenCounter } from '../../../operators/linearize/tokenCount.js';

/** Where the server is (the `/v1` base URL the policy uses) and how long a request may take. */
export interface TokenizeClientConfig {
  readonly baseUrl: string;
  readonly model?: string;
  readonly apiKey?: string;
  readonly timeoutMs: number;
}

/** `http://host:8000/v1` → `http://host:8000/tokenize`: llama.cpp and vLLM serve it beside `/v1`. */
export function tokenizeUrl(baseUrl: string): URL {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  base.pathname = base.pathname.replace(/\/v1\/$/u, '/');
  return new URL('tokenize', base);
}

/**
 * Counts tokens with the policy server's own tokenizer through `POST /tokenize`, as llama.cpp's
 * llama-server (`{content}` → `{tokens}`), vLLM (`{model, prompt}` → `{count, tokens}`) and
 * `serve-policy` offer it. The body carries both spellings, so one request fits either server.
 * Resolves null when the server has no such endpoint (or it answers something else): the caller
 * then estimates, and says so.
 */
export async function probeServerTokenizer(config: TokenizeClientConfig): Promise<TokenCounter | null> {
  const url = tokenizeUrl(config.baseUrl);
  const count = (text: string): Promise<number> => tokenize(url, config, text);
  try {
    await count('Hello');
  } catch {
    return null;
  }
  return { name: `POST ${url.href}`, exact: true, count };
}

function tokenize(url: URL, config: TokenizeClientConfig, text: string): Promise<number> {
  const payload = Buffer.from(JSON.stringify({ content: text, prompt: text, add_special: false, add_special_tokens: false, ...(config.model === undefined ? {} : { model: config.model }) }));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        timeout: config.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          ...(config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) => reject(new AppError('policy', `POST ${url.href}: ${error.message}`, { retriable: true })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retriable = status === 429 || status >= 500;
          if (status < 200 || status >= 300) return reject(new AppError('policy', `HTTP ${status} from ${url.href}`, { retriable }));
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { count?: unknown; tokens?: unknown };
            if (typeof body.count === 'number' && Number.isInteger(body.count) && body.count >= 0) return resolve(body.count);
            if (Array.isArray(body.tokens)) return resolve(body.tokens.length);
            reject(new AppError('policy', `${url.href} answered without count or tokens`));
          } catch (error) {
            reject(new AppError('policy', `${url.href} answered non-JSON: ${(error as Error).message}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${config.timeoutMs} ms`)));
    req.on('error', (error) => reject(new AppError('policy', `POST ${url.href} failed: ${error.message}`, { retriable: true })));
    req.end(payload);
  });
}

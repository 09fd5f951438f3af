import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompletionsClient, HttpStatusError, ServerUnavailableError } from '../../../streams/policies/openai/index.js';

/** A real HTTP server whose answer per path the test sets; it records what it was sent. */
describe('completions client against a real HTTP server', () => {
  let server: Server;
  let port: number;
  const received: { url: string; body: Record<string, unknown> }[] = [];
  let answer: (url: string) => { status: number; body: string } = () => ({ status: 200, body: '{}' });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        received.push({ url: req.url ?? '', body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
        const { status, body } = answer(req.url ?? '');
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const client = () => createCompletionsClient({ baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 5_000, maxSockets: 4 });

  it('sends messages to /v1/chat/completions, asking for logprobs the chat way and continuing a final assistant turn', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Step 2: x' }, finish_reason: 'stop', logprobs: { content: [{ token: 'Step', logprob: -0.5 }] } }], usage: { prompt_tokens: 9, completion_tokens: 1 } }) });
    const c = client();
    const response = await c.complete({ model: 'm', messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'Step 1: y\n\n' }], n: 1, max_tokens: 8, temperature: 1, top_p: 1, logprobs: 1 });
    c.close();
    expect(received.at(-1)?.url).toBe('/v1/chat/completions');
    expect(received.at(-1)?.body).toMatchObject({ logprobs: true, top_logprobs: 1, continue_final_message: true, add_generation_prompt: false });
    expect(response.choices[0]).toEqual({ index: 0, text: 'Step 2: x', finish_reason: 'stop', logprobs: { tokens: ['Step'], token_logprobs: [-0.5] } });
  });

  it('sends prompts to /v1/completions unchanged', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ choices: [{ text: 'a', logprobs: { tokens: ['a'], token_logprobs: [-1] } }] }) });
    const c = client();
    await c.complete({ model: 'm', prompt: 'P', n: 2, max_tokens: 8, temperature: 1, top_p: 1, logprobs: 1 });
    c.close();
    expect(received.at(-1)).toEqual({ url: '/v1/completions', body: { model: 'm', prompt: 'P', n: 2, max_tokens: 8, temperature: 1, top_p: 1, logprobs: 1 } });
  });

  it('classifies failures: 503 and a refused connection are outages; a 400 keeps its body; a 500 is retriable', async () => {
    const c = client();
    answer = () => ({ status: 503, body: '{"error":{"message":"Loading model"}}' });
    const loading = await c.complete({ model: 'm', prompt: 'P', n: 1, max_tokens: 1, temperature: 1, top_p: 1 }).catch((e: unknown) => e);
    expect(loading).toBeInstanceOf(ServerUnavailableError);
    answer = () => ({ status: 400, body: `{"error":{"message":"Field 'n': Value must be between 1 <= value <= 2, but got 8"}}` });
    const refused400 = await c.complete({ model: 'm', prompt: 'P', n: 8, max_tokens: 1, temperature: 1, top_p: 1 }).catch((e: unknown) => e);
    expect(refused400).toBeInstanceOf(HttpStatusError);
    expect((refused400 as HttpStatusError).status).toBe(400);
    expect((refused400 as HttpStatusError).retriable).toBe(false);
    expect((refused400 as HttpStatusError).body).toMatch(/<= value <= 2/);
    answer = () => ({ status: 500, body: 'boom' });
    const boom = await c.complete({ model: 'm', prompt: 'P', n: 1, max_tokens: 1, temperature: 1, top_p: 1 }).catch((e: unknown) => e);
    expect(boom).toBeInstanceOf(HttpStatusError);
    expect((boom as HttpStatusError).retriable).toBe(true);
    c.close();

    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', () => ok()));
    const address = closed.address();
    const deadPort = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const dead = createCompletionsClient({ baseUrl: `http://127.0.0.1:${deadPort}/v1`, timeoutMs: 5_000, maxSockets: 1 });
    const refused = await dead.complete({ model: 'm', prompt: 'P', n: 1, max_tokens: 1, temperature: 1, top_p: 1 }).catch((e: unknown) => e);
    dead.close();
    expect(refused).toBeInstanceOf(ServerUnavailableError);
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('getJson reads /props at the server root, and says undefined for a 404', async () => {
    answer = (url) => (url === '/props' ? { status: 200, body: '{"total_slots":4}' } : { status: 404, body: 'no' });
    const c = client();
    expect(await c.getJson?.('/props')).toEqual({ total_slots: 4 });
    expect(await c.getJson?.('/nothing')).toBeUndefined();
    c.close();
  });
});

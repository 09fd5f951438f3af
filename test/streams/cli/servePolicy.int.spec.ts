import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { startServePolicy, type ServePolicyProcess } from '../server/servePolicyProcess.js';

describe('astro-stream serve-policy', () => {
  let server: ServePolicyProcess;
  beforeAll(async () => {
    server = await startServePolicy(['--latency-ms', '50', '--max-concurrency', '2']);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
  });

  it('serves /v1/models and /v1/completions on the port it printed', async () => {
    const models = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]?.id).toBe('countdown-mlp');
    const prompt = 'over the original numbers (4, 6, 10) When a remaining number equals 20,<|start_header_id|>assistant<|end_header_id|>\n\n';
    const res = await fetch(`${server.baseUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, n: 3, stop: ['\n\n'], seed: 1 }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { text: string }[] };
    expect(body.choices).toHaveLength(3);
    expect(body.choices.every((c) => c.text.startsWith('Step 1:'))).toBe(true);
  });

  it('caps concurrency: GET /stats shows the peak and the time requests waited in the queue', async () => {
    const prompt = 'over the original numbers (4, 6, 10) When a remaining number equals 20,';
    await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${server.baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ prompt, n: 1, seed: i }) })));
    const stats = await server.stats();
    expect(stats.peak_concurrency).toBe(2);
    expect(Number(stats.queue_ms_max)).toBeGreaterThanOrEqual(80);
    expect(Number(stats.served)).toBeGreaterThanOrEqual(7);
  });

  it('documents its flags and stops cleanly on SIGTERM', async () => {
    const help = await runCli(['serve-policy', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--port', '--latency-ms', '--max-concurrency', '--error-every', '--slow-every', '--truncate-every']) expect(help.stdout).toContain(flag);
    const other = await startServePolicy();
    expect(await other.stop()).toBe(0);
    expect(other.stderr()).toMatch(/stopped/);
  }, 60_000);
});

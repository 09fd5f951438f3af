import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf, type Sample } from '../../../streams/metrics/parseExposition.js';
import { startCli, type CliProcess } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/waitFor.js';
import { startServePolicy, type ServePolicyProcess } from '../server/servePolicyProcess.js';

const scrape = async (url: string): Promise<Sample[]> => parseExposition(await (await fetch(url)).text());

describe('policy request metrics: run --policy openai against serve-policy, both with --metrics-port', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-policy-metrics-'));
  let server: ServePolicyProcess;
  let run: CliProcess;
  let client: Sample[];
  let serverSide: Sample[];
  let served: number;

  beforeAll(async () => {
    server = await startServePolicy(['--metrics-port', '0', '--latency-ms', '5']);
    const serverUrl = await waitFor(() => /metrics: (http:\/\/\S+\/metrics)/.exec(server.stderr())?.[1], { timeoutMs: 30_000, message: 'serve-policy metrics URL' });
    run = startCli(['run', '--policy', 'openai', '--base-url', server.baseUrl, '--problems', '3', '--numbers', '3', '--iterations', '4', '--out', out, '--metrics-port', '0', '--metrics-linger', '300']);
    const runUrl = await waitFor(() => /metrics: (http:\/\/\S+\/metrics)/.exec(run.output())?.[1], { timeoutMs: 60_000, message: 'run metrics URL' });
    await waitFor(() => existsSync(join(out, 'manifest.json')) && run.output().includes('dataset '), { timeoutMs: 180_000, intervalMs: 100, message: 'the run to finish' });
    client = await scrape(runUrl);
    serverSide = await scrape(serverUrl);
    served = Number((await server.stats())['served']);
  }, 240_000);

  afterAll(async () => {
    await run?.stop('SIGTERM');
    await server?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('the client\'s request latency histogram counts every request the server answered', () => {
    expect(served).toBeGreaterThan(0);
    expect(sumOf(client, 'astro_policy_request_duration_ms_count', { outcome: 'ok' })).toBe(served);
    expect(sumOf(client, 'astro_policy_request_duration_ms_bucket', { outcome: 'ok', le: '+Inf' })).toBe(served);
    // Every request waited at least the emulated 5 ms: nothing in the 1 and 2.5 ms buckets.
    expect(sumOf(client, 'astro_policy_request_duration_ms_bucket', { outcome: 'ok', le: '2.5' })).toBe(0);
    expect(sumOf(serverSide, 'astro_policy_server_request_ms_count')).toBe(served);
  });

  it('tokens agree between the client\'s histograms and counters and the server\'s', () => {
    for (const kind of ['prompt', 'completion']) {
      const serverTokens = sumOf(serverSide, 'astro_policy_server_request_tokens_sum', { kind });
      expect(serverTokens).toBeGreaterThan(0);
      expect(sumOf(client, 'astro_policy_request_tokens_sum', { kind })).toBe(serverTokens);
      expect(sumOf(client, 'astro_policy_tokens_total', { kind })).toBe(serverTokens);
      expect(sumOf(client, 'astro_policy_request_tokens_count', { kind })).toBe(served);
    }
  });

  it('serve-policy reports its own counters and levels', () => {
    expect(sumOf(serverSide, 'astro_component_stat', { component: 'serve-policy', field: 'served' })).toBe(served);
    expect(serverSide.some((s) => s.name === 'astro_component_stat' && s.labels['field'] === 'in_flight')).toBe(true);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../operators/common/metrics.js';
import { PROBLEMS_TOPIC } from '../../../schemas/problem.js';
import { resolveSeries, type FamilyKind } from '../../../streams/metrics/families.js';
import { parseExposition, sumOf, type Sample } from '../../../streams/metrics/parseExposition.js';
import type { DatasetManifest } from '../../../streams/sinks/manifest.js';
import { waitForDrain } from '../../../streams/stages/drain.js';
import { STAGE_GROUPS } from '../../../streams/stages/groups.js';
import { createKafkaTransport } from '../../../streams/transport/kafka/kafkaTransport.js';
import type { Transport } from '../../../streams/transport/transport.js';
import { REPO_ROOT, startCli, type CliProcess } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { startTestKafka, type TestKafka } from '../../helpers/kafka.js';
import { waitFor } from '../../helpers/waitFor.js';

const BUDGET = ['--numbers', '3', '--iterations', '6', '--seed', '3'];

/** The endpoint URL a process logs once its metrics endpoint listens. */
const metricsUrlOf = (p: CliProcess): Promise<string> =>
  Promise.race([
    waitFor(() => /metrics: (http:\/\/\S+\/metrics)/.exec(p.output())?.[1], { timeoutMs: 120_000 }),
    p.exited.then((e) => Promise.reject(new Error(`exited ${e.code ?? e.signal}`))),
  ]).catch((error: unknown) => {
    throw new Error(`no metrics URL in the output of ${p.pid}:\n${p.output()}`, { cause: error });
  });

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

/** Every family this project exports starts with astro_; `# TYPE` lines say which are histograms. */
function familiesOf(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

const countBy = (rows: readonly Record<string, unknown>[], key: string): Record<string, number> =>
  Object.fromEntries(rows.map((r) => [String(r[key]), Number(r['n'])]));

describe('astro-stream run --metrics-port (in-process transport)', () => {
  const out = mkdtempSync(join(tmpdir(), 'astro-metrics-run-'));
  let run: CliProcess;
  let url: string;
  let scrapedWhileRunning = 0;
  let final: { text: string; samples: Sample[] };

  beforeAll(async () => {
    run = startCli(['run', '--problems', '10', ...BUDGET, '--out', out, '--metrics-port', '0', '--metrics-linger', '300', '--json']);
    url = await metricsUrlOf(run);
    // Scrape while the run works, until its manifest (written last) is there; then once more.
    await waitFor(
      async () => {
        const done = existsSync(join(out, 'manifest.json')) && run.output().includes('"problems"');
        if (!done) {
          await scrape(url);
          scrapedWhileRunning += 1;
        }
        return done;
      },
      { timeoutMs: 180_000, intervalMs: 50, message: 'the run to finish' },
    );
    final = await scrape(url);
  }, 240_000);

  afterAll(async () => {
    await run?.stop('SIGTERM');
    rmSync(out, { recursive: true, force: true });
  });

  it('serves /metrics while the run works, and ends its linger on SIGTERM with exit 0', async () => {
    expect(scrapedWhileRunning).toBeGreaterThan(0);
    const exited = await run.stop('SIGTERM');
    expect(exited.code, run.output()).toBe(0);
  });

  it('exports the issue\'s families, all prefixed astro_', () => {
    const families = familiesOf(final.text);
    for (const name of families.keys()) expect(name).toMatch(/^astro_/);
    expect(Object.fromEntries(
      ['astro_stage_records_in_total', 'astro_stage_records_out_total', 'astro_consumer_lag', 'astro_stage_in_flight', 'astro_stage_paused', 'astro_trace_backtracks', 'astro_traces_total',
        'astro_policy_call_duration_ms', 'astro_mcts_expansions_total', 'astro_mcts_revisits_total', 'astro_valid_tree_ratio', 'astro_verifier_verdicts_total', 'astro_sink_bytes_total', 'astro_sink_files_total'].map((n) => [n, families.get(n)]),
    )).toEqual({
      astro_stage_records_in_total: 'counter',
      astro_stage_records_out_total: 'counter',
      astro_consumer_lag: 'gauge',
      astro_stage_in_flight: 'gauge',
      astro_stage_paused: 'gauge',
      astro_trace_backtracks: 'histogram',
      astro_traces_total: 'counter',
      astro_policy_call_duration_ms: 'histogram',
      astro_mcts_expansions_total: 'counter',
      astro_mcts_revisits_total: 'counter',
      astro_valid_tree_ratio: 'gauge',
      astro_verifier_verdicts_total: 'counter',
      astro_sink_bytes_total: 'counter',
      astro_sink_files_total: 'counter',
    });
    expect(final.text).toMatch(/^astro_policy_call_duration_ms_bucket\{le="[^"]+",call="rollout"\} \d+$/m);
  });

  it('counts match the dataset it wrote (DuckDB over the Parquet, the manifest)', async () => {
    const s = final.samples;
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as DatasetManifest;
    const byVariant = countBy(await duckdbRows(`SELECT variant, count(*) AS n FROM read_parquet('${out}/traces/*.parquet') GROUP BY variant`), 'variant');
    const [totals] = await duckdbRows(`SELECT count(*) AS n, sum(num_backtracks) AS b, count(*) FILTER (WHERE num_backtracks = 0) AS zero FROM read_parquet('${out}/traces/*.parquet')`);
    const traces = Number(totals?.['n']);
    expect(traces).toBeGreaterThan(0);
    for (const [variant, n] of Object.entries(byVariant)) expect(sumOf(s, 'astro_traces_total', { variant })).toBe(n);
    expect(sumOf(s, 'astro_traces_total')).toBe(traces);
    expect(sumOf(s, 'astro_trace_backtracks_count')).toBe(traces);
    expect(sumOf(s, 'astro_trace_backtracks_sum')).toBe(Number(totals?.['b']));
    expect(sumOf(s, 'astro_trace_backtracks_bucket', { le: '0' })).toBe(Number(totals?.['zero']));
    expect(sumOf(s, 'astro_sink_rows_total', { kind: 'traces' })).toBe(traces);

    const files = (kind: string) => manifest.files.filter((f) => f.kind === kind);
    for (const kind of ['traces', 'trees']) {
      expect(sumOf(s, 'astro_sink_files_total', { kind })).toBe(files(kind).length);
      expect(sumOf(s, 'astro_sink_bytes_total', { kind })).toBe(files(kind).reduce((a, f) => a + f.bytes, 0));
    }
    expect(sumOf(s, 'astro_sink_rows_total', { kind: 'trees' })).toBe(10);
    expect(sumOf(s, 'astro_stage_records_in_total', { stage: 'search', topic: PROBLEMS_TOPIC })).toBe(10);
    expect(sumOf(s, 'astro_stage_records_out_total', { stage: 'search', topic: 'astro.trees.v1' })).toBe(10);
    expect(sumOf(s, 'astro_stage_records_in_total', { stage: 'sink-traces' })).toBe(traces);
    expect(sumOf(s, 'astro_search_trees_total')).toBe(manifest.counts['search.trees']);
    const invalid = manifest.counts['verify.invalid_trees'] ?? 0;
    expect(sumOf(s, 'astro_verify_invalid_trees_total')).toBe(invalid);
    expect(sumOf(s, 'astro_valid_tree_ratio')).toBeCloseTo((10 - invalid) / 10, 10);
    expect(sumOf(s, 'astro_mcts_expansions_total')).toBe(manifest.counts['mcts.expansions']);
    expect(sumOf(s, 'astro_verifier_verdicts_total')).toBeGreaterThan(0);
    expect(sumOf(s, 'astro_dead_letters_total')).toBe(0);
  });

  it('the deploy/ Grafana dashboard and alert rules query only families the exporter serves', () => {
    const served = new Set(familiesOf(final.text).keys());
    // Families a healthy in-process run does not create: training, an LLM policy, verifier timeouts.
    const calls: [FamilyKind, string][] = [['gauge', 'trainer.loss'], ['gauge', 'trainer.policy_version'], ['counter', 'rollout.correct'], ['counter', 'rollout.samples'], ['histogram', 'policy.request_ms'], ['histogram', 'policy.request_tokens'], ['counter', 'policy.prompt_tokens'], ['counter', 'verify.verdict_timeouts']];
    for (const [kind, name] of calls) for (const t of resolveSeries(kind, name, undefined)) served.add(t.family.name);
    const queried = (file: string): string[] => [...new Set([...readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(/\bastro_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];
    const grafana = queried('deploy/grafana/astro-stream.json').filter((n) => n !== 'astro_stream');
    expect(grafana.length).toBeGreaterThan(15);
    expect(grafana.filter((n) => !served.has(n))).toEqual([]);
    expect(queried('deploy/prometheus/alerts.yml').filter((n) => !served.has(n))).toEqual([]);
  });

  it('reports consumer lag per group, topic and partition: all caught up at the end', () => {
    const lag = final.samples.filter((x) => x.name === 'astro_consumer_lag');
    expect(new Set(lag.map((x) => x.labels['group']))).toEqual(new Set(Object.values(STAGE_GROUPS).filter((g) => g !== STAGE_GROUPS.trainer)));
    expect(lag.filter((x) => x.labels['topic'] === PROBLEMS_TOPIC).map((x) => x.labels['partition']).sort()).toEqual(['0', '1', '2', '3']);
    expect(lag.every((x) => x.value === 0)).toBe(true);
    expect(sumOf(final.samples, 'astro_topic_end_offset', { topic: PROBLEMS_TOPIC })).toBe(10);
  });
});

describe('stages with --metrics-port, and dashboard --brokers, on a real Kafka broker', () => {
  let kafka: TestKafka;
  let transport: Transport;
  const out = mkdtempSync(join(tmpdir(), 'astro-metrics-stage-'));
  const processes: CliProcess[] = [];

  beforeAll(async () => {
    kafka = await startTestKafka({ nodes: 1 });
    transport = createKafkaTransport({ brokers: kafka.brokers, logger: silentLogger });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await transport?.close();
    await kafka?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('search and sink stages: records, dead letters and lag per partition match what the pipeline did', async () => {
    const group = `m-${Date.now()}`;
    const search = startCli(['stage', 'search', '--brokers', kafka.bootstrap, '--group', `${group}.search`, '--iterations', '6', '--seed', '3', '--metrics-port', '0']);
    const sink = startCli(['stage', 'sink', '--brokers', kafka.bootstrap, '--group', `${group}.sink`, '--out', out, '--metrics-port', '0']);
    processes.push(
      search,
      sink,
      startCli(['stage', 'verify', '--brokers', kafka.bootstrap, '--group', `${group}.verify`]),
      startCli(['stage', 'linearize', '--brokers', kafka.bootstrap, '--group', `${group}.linearize`, '--seed', '3']),
    );
    const [searchUrl, sinkUrl] = await Promise.all([metricsUrlOf(search), metricsUrlOf(sink)]);
    await waitFor(() => processes.every((p) => p.output().includes('started')), { timeoutMs: 120_000, message: 'every stage started' });

    const producer = await transport.producer();
    await producer.send(PROBLEMS_TOPIC, [{ key: 'garbage', value: new TextEncoder().encode('{"id": "x", oops') }]);
    await producer.close();
    const source = startCli(['source', 'countdown', '--problems', '6', '--numbers', '3', '--seed', '3', '--brokers', kafka.bootstrap]);
    expect((await source.exited).code, source.output()).toBe(0);
    await waitForDrain(
      transport,
      [
        { groupId: `${group}.search`, topic: PROBLEMS_TOPIC },
        { groupId: `${group}.verify`, topic: 'astro.trees.v1' },
        { groupId: `${group}.sink.trees`, topic: 'astro.trees.v1' },
        { groupId: `${group}.linearize`, topic: 'astro.trees.verified.v1' },
        { groupId: `${group}.sink.traces`, topic: 'astro.traces.v1' },
      ],
      { pollMs: 250, timeoutMs: 180_000 },
    );

    // Lag is read from the broker at scrape time: it reaches 0 once the commits are in.
    const searchScrape = await waitFor(
      async () => {
        const s = await scrape(searchUrl);
        const lag = s.samples.filter((x) => x.name === 'astro_consumer_lag' && x.labels['group'] === `${group}.search`);
        return lag.length > 0 && lag.every((x) => x.value === 0) ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'search lag 0' },
    );
    const s = searchScrape.samples;
    expect(sumOf(s, 'astro_stage_records_in_total', { stage: 'search', topic: PROBLEMS_TOPIC })).toBe(7);
    expect(sumOf(s, 'astro_stage_records_out_total', { stage: 'search', topic: 'astro.trees.v1' })).toBe(6);
    expect(sumOf(s, 'astro_dead_letters_total', { stage: 'search', topic: PROBLEMS_TOPIC, kind: 'decode' })).toBe(1);
    expect(sumOf(s, 'astro_stage_records_failed_total', { stage: 'search', topic: PROBLEMS_TOPIC })).toBe(1);
    const partitions = s.filter((x) => x.name === 'astro_consumer_lag' && x.labels['group'] === `${group}.search` && x.labels['topic'] === PROBLEMS_TOPIC);
    expect(partitions.map((x) => x.labels['partition']).sort()).toEqual(['0', '1', '2', '3']);
    const committed = sumOf(s, 'astro_consumer_committed_offset', { group: `${group}.search`, topic: PROBLEMS_TOPIC });
    expect(committed).toBe(sumOf(s, 'astro_topic_end_offset', { topic: PROBLEMS_TOPIC }));
    expect(familiesOf(searchScrape.text).get('astro_policy_call_duration_ms')).toBe('histogram');
    expect(sumOf(s, 'astro_stage_in_flight', { stage: 'search' })).toBe(0);

    // The sink writes a shard after its linger: wait until everything it received is in files.
    const sinkScrape = await waitFor(
      async () => {
        const x = await scrape(sinkUrl);
        const received = sumOf(x.samples, 'astro_stage_records_in_total', { stage: 'sink-traces' });
        return received > 0 && sumOf(x.samples, 'astro_sink_rows_total', { kind: 'traces' }) === received ? x : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'sink rows written' },
    );
    const written = sumOf(sinkScrape.samples, 'astro_sink_rows_total', { kind: 'traces' });
    const bytes = sumOf(sinkScrape.samples, 'astro_sink_bytes_total', { kind: 'traces' });
    expect(sumOf(sinkScrape.samples, 'astro_sink_rows_total', { kind: 'trees' })).toBe(6);

    const stopped = await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    expect(stopped.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const [rows] = await duckdbRows(`SELECT count(*) AS n FROM read_parquet('${out}/traces/*.parquet')`);
    expect(Number(rows?.['n'])).toBe(written);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as DatasetManifest;
    expect(manifest.files.filter((f) => f.kind === 'traces').reduce((a, f) => a + f.bytes, 0)).toBe(bytes);
  }, 400_000);

  it('dashboard --brokers reads the trees, traces and dead letters from the topics, and lag from the broker', async () => {
    const dashboard = startCli(['dashboard', '--brokers', kafka.bootstrap, '--port', '0', '--poll-ms', '250']);
    processes.push(dashboard);
    const url = await waitFor(() => /"url":"([^"]+)"/.exec(dashboard.output())?.[1], { timeoutMs: 120_000, message: 'dashboard URL' });
    const trees = [...(await transport.endOffsets('astro.trees.v1')).values()].reduce((a, b) => a + b, 0);
    const traces = [...(await transport.endOffsets('astro.traces.v1')).values()].reduce((a, b) => a + b, 0);
    expect(trees).toBeGreaterThan(0);
    type Overview = { counts: { trees: number; traces: number; dead_letters: number }; dead_letters: { by_kind: { stage: string; kind: string; count: number }[] }; metrics: { points: { lag: Record<string, number> }[] } };
    const overview = await waitFor(
      async () => {
        const o = (await (await fetch(`${url}api/overview`)).json()) as Overview;
        return o.counts.trees === trees && o.counts.traces === traces && o.metrics.points.length > 0 ? o : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'the dashboard caught up with the topics' },
    );
    expect(overview.dead_letters.by_kind).toContainEqual({ stage: 'search', kind: 'decode', count: 1 });
    // The standard groups never ran here (the test used its own): their lag is everything on the topic.
    expect(overview.metrics.points.at(-1)?.lag[STAGE_GROUPS.search]).toBe(7);
    const list = (await (await fetch(`${url}api/trees?q=`)).json()) as { trees: { tree_id: string; nodes: number }[] };
    expect(list.trees).toHaveLength(trees);
    const first = list.trees[0];
    const one = (await (await fetch(`${url}api/tree?id=${first?.tree_id ?? ''}`)).json()) as { tree: { nodes: unknown[] } };
    expect(one.tree.nodes).toHaveLength(first?.nodes ?? -1);
    expect((await dashboard.stop('SIGTERM')).code, dashboard.output()).toBe(0);
  }, 200_000);
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { resolveSeries, sanitize } from '../../../streams/metrics/families.js';
import { parseExposition, sumOf } from '../../../streams/metrics/parseExposition.js';
import { PromMetrics } from '../../../streams/metrics/promMetrics.js';

const scrape = async (m: PromMetrics) => parseExposition(await m.registry.metrics());

describe('resolveSeries', () => {
  it('maps plain names by name, with the astro_ prefix and the unit kept', () => {
    expect(resolveSeries('counter', 'verify.invalid_trees', undefined)[0]?.family.name).toBe('astro_verify_invalid_trees_total');
    expect(resolveSeries('histogram', 'mcts.search_ms', undefined)[0]?.family).toMatchObject({ name: 'astro_mcts_search_ms', kind: 'histogram' });
    expect(resolveSeries('gauge', 'trainer.policy_version', undefined)[0]?.family).toMatchObject({ name: 'astro_trainer_policy_version', kind: 'gauge' });
  });

  it('turns value-encoding names into labels or observations', () => {
    expect(resolveSeries('counter', 'traces.variant.search', undefined)[0]).toMatchObject({ family: { name: 'astro_traces_total' }, labels: { variant: 'search' } });
    expect(resolveSeries('counter', 'traces.backtracks.3', undefined)[0]).toMatchObject({ family: { name: 'astro_trace_backtracks', kind: 'histogram' }, observeValue: 3 });
    expect(resolveSeries('counter', 'sink.trees.files', undefined)[0]).toMatchObject({ family: { name: 'astro_sink_files_total' }, labels: { kind: 'trees' } });
  });

  it('does not export per-stage dead_lettered counters twice', () => {
    expect(resolveSeries('counter', 'search.dead_lettered', undefined)).toEqual([]);
  });

  it('sanitizes any name into a valid Prometheus name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), (name) => {
        expect(`astro_${sanitize(name)}`).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      }),
    );
  });
});

describe('PromMetrics', () => {
  it('exports counters, labelled counters, histograms and gauges', async () => {
    const m = new PromMetrics();
    m.increment('search.trees');
    m.increment('search.trees', 2);
    m.increment('stage.records_in', 1, { stage: 'search', topic: 'astro.problems.v1' });
    m.increment('stage.records_in', 4, { stage: 'verify', topic: 'astro.trees.v1' });
    m.increment('stage.dead_letters', 1, { stage: 'verify', topic: 'astro.trees.v1', kind: 'schema' });
    m.observe('policy.request_ms', 30, { outcome: 'ok' });
    m.gauge('trainer.loss', 0.5, { component: 'loss' });
    m.gauge('trainer.loss', 0.25, { component: 'loss' });
    const samples = await scrape(m);
    expect(sumOf(samples, 'astro_search_trees_total')).toBe(3);
    expect(sumOf(samples, 'astro_stage_records_in_total', { stage: 'verify' })).toBe(4);
    expect(sumOf(samples, 'astro_dead_letters_total', { kind: 'schema', topic: 'astro.trees.v1' })).toBe(1);
    expect(sumOf(samples, 'astro_stage_records_failed_total', { stage: 'verify' })).toBe(1);
    expect(sumOf(samples, 'astro_policy_request_duration_ms_bucket', { le: '25', outcome: 'ok' })).toBe(0);
    expect(sumOf(samples, 'astro_policy_request_duration_ms_bucket', { le: '50', outcome: 'ok' })).toBe(1);
    expect(sumOf(samples, 'astro_trainer_loss', { component: 'loss' })).toBe(0.25);
  });

  it('builds the backtrack histogram from value-encoding counter names', async () => {
    const m = new PromMetrics();
    for (const n of [0, 0, 1, 3, 3, 3]) m.increment(`traces.backtracks.${n}`);
    const samples = await scrape(m);
    expect(sumOf(samples, 'astro_trace_backtracks_count')).toBe(6);
    expect(sumOf(samples, 'astro_trace_backtracks_sum')).toBe(10);
    expect(sumOf(samples, 'astro_trace_backtracks_bucket', { le: '0' })).toBe(2);
    expect(sumOf(samples, 'astro_trace_backtracks_bucket', { le: '2' })).toBe(3);
  });

  it('tolerates calls whose labels differ from the family (missing empty, extra ignored)', async () => {
    const m = new PromMetrics();
    m.increment('stage.records_in', 1, { stage: 'search' });
    m.increment('stage.records_in', 1, { stage: 'search', topic: 't', extra: 'x' });
    const samples = await scrape(m);
    expect(sumOf(samples, 'astro_stage_records_in_total', { stage: 'search', topic: '' })).toBe(1);
    expect(sumOf(samples, 'astro_stage_records_in_total', { stage: 'search', topic: 't' })).toBe(1);
  });

  it('never throws: a name first counted without labels and later with some, a counter going down, NaN', async () => {
    const drops: string[] = [];
    const m = new PromMetrics({ onDrop: (name) => drops.push(name) });
    m.increment('mcts.revisits');
    m.increment('mcts.revisits', 1, { stage: 'search' });
    m.increment('verify.trees', -1);
    m.observe('mcts.search_ms', Number.NaN);
    expect(sumOf(await scrape(m), 'astro_mcts_revisits_total')).toBe(2);
    expect(drops.sort()).toEqual(['mcts.search_ms', 'verify.trees']);
  });

  it('drops, once and with a reason, a name that clashes with a family of another kind', async () => {
    const drops: string[] = [];
    const m = new PromMetrics({ onDrop: (name, reason) => drops.push(`${name}: ${reason}`) });
    m.gauge('x.y_total', 1);
    m.increment('x.y');
    m.increment('x.y');
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatch(/astro_x_y_total is already a gauge/);
    expect(sumOf(await scrape(m), 'astro_x_y_total')).toBe(1);
  });
});

describe('InMemoryMetrics with a forward target', () => {
  it('keeps unlabelled counts and forwards every call', async () => {
    const prom = new PromMetrics();
    const m = new InMemoryMetrics(prom);
    m.increment('verify.trees', 2);
    m.increment('stage.records_in', 1, { stage: 'search', topic: 't' });
    m.observe('mcts.search_ms', 12);
    m.gauge('trainer.policy_version', 3);
    expect(m.snapshot().counters).toEqual({ 'verify.trees': 2 });
    expect(m.level('trainer.policy_version')).toBe(3);
    const samples = await scrape(prom);
    expect(sumOf(samples, 'astro_verify_trees_total')).toBe(2);
    expect(sumOf(samples, 'astro_stage_records_in_total')).toBe(1);
    expect(sumOf(samples, 'astro_mcts_search_ms_count')).toBe(1);
    expect(sumOf(samples, 'astro_trainer_policy_version')).toBe(3);
  });
});

describe('parseExposition', () => {
  it('reads names, escaped labels and special values', () => {
    const samples = parseExposition('# HELP a x\n# TYPE a counter\na{l="q\\"x\\\\y",m="2"} 3\nb_bucket{le="+Inf"} +Inf\nc 1.5e3\n');
    expect(samples).toEqual([
      { name: 'a', labels: { l: 'q"x\\y', m: '2' }, value: 3 },
      { name: 'b_bucket', labels: { le: '+Inf' }, value: Infinity },
      { name: 'c', labels: {}, value: 1500 },
    ]);
  });
});

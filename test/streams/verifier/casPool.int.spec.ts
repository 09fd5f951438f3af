import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_COMPARE_CONFIG } from '../../../operators/verify/math/compare.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { CasPool } from '../../../streams/verifier/casPool.js';

// Generous for a loaded 2-core machine: a worker loads compute-engine before its first answer.
const WARM_MS = 30_000;
// A pair only a CAS reads (the inline parser does not know \gcd); compute-engine needs a few ms.
const GOLD = { text: '\\gcd((x+y+z+w)^{60}, 1)' };
const PRED = { text: '1' };

const pools: CasPool[] = [];
const pool = (workers = 1, metrics?: InMemoryMetrics): CasPool => {
  const p = new CasPool({ workers, maxHeapMb: 256 }, metrics === undefined ? {} : { metrics });
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('CasPool', () => {
  it('compares a pair in a worker thread started from the TypeScript sources', async () => {
    const p = pool();
    const r = await p.compare({ text: '\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}' }, { text: '\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}' }, DEFAULT_COMPARE_CONFIG, WARM_MS);
    expect(r).toMatchObject({ kind: 'compared', comparison: { equal: true, method: 'string' } });
    const cas = await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS);
    expect(cas.kind).toBe('compared');
    expect(p.stats()).toMatchObject({ calls: 2, timeouts: 0, restarts: 0 });
  });

  it('terminates a worker still busy at the deadline, replaces it, and keeps answering', async () => {
    const metrics = new InMemoryMetrics();
    const p = pool(1, metrics);
    await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS);
    // A 1 ms deadline expires while the warm worker is computing (a CAS answer takes several ms).
    let attempts = 0;
    while (p.stats().restarts === 0 && attempts++ < 5) {
      const t0 = performance.now();
      const r = await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, 1);
      expect(performance.now() - t0).toBeLessThan(5_000);
      if (r.kind === 'timeout') continue;
      await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS);
    }
    expect(p.stats().restarts).toBeGreaterThan(0);
    expect(p.stats().timeouts).toBe(p.stats().restarts);
    expect(metrics.counter('verify.cas_timeouts')).toBe(p.stats().timeouts);
    expect(metrics.counter('verify.cas_worker_restarts')).toBe(p.stats().restarts);
    // The replacement worker answers the next pair.
    expect((await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS)).kind).toBe('compared');
  });

  it("does not spend a pair's deadline on the workers' start-up: a cold pool answers within 500 ms of compute", async () => {
    // Loading compute-engine takes ~2 s on a busy 2-core machine, never under 500 ms; the pair
    // itself takes a few ms. Counted from the call, start-up alone made this a timeout.
    const p = pool(1);
    const t0 = performance.now();
    const r = await p.compare({ text: '(r+5)(r+5)' }, { text: '(r+5)^2' }, DEFAULT_COMPARE_CONFIG, 500);
    expect(r, `after ${Math.round(performance.now() - t0)} ms`).toMatchObject({ kind: 'compared', comparison: { equal: true } });
    expect(p.stats()).toMatchObject({ calls: 1, timeouts: 0, restarts: 0 });
  });

  it('times out pairs whose workers do not start within startMs', async () => {
    const p = new CasPool({ workers: 1, maxHeapMb: 256, startMs: 1 });
    pools.push(p);
    expect((await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS)).kind).toBe('timeout');
    expect(p.stats().timeouts).toBe(1);
  });

  it('times out a pair still waiting in the queue at its deadline without stopping the busy worker', async () => {
    const p = pool(1);
    const slow = p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS);
    // The worker is busy with the first pair once it has started: the second one waits and expires.
    const queued = await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, 1);
    expect(queued.kind).toBe('timeout');
    expect((await slow).kind).toBe('compared');
    expect(p.stats().restarts).toBe(0);
  });

  it('answers pairs in parallel on two workers and fails what is waiting when closed', async () => {
    const p = new CasPool({ workers: 2, maxHeapMb: 256 });
    const results = await Promise.all(Array.from({ length: 6 }, () => p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS)));
    expect(results.every((r) => r.kind === 'compared')).toBe(true);
    const pending = p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS);
    await p.close();
    expect(await pending).toEqual({ kind: 'failed', reason: 'CAS pool closed' });
    expect(await p.compare(GOLD, PRED, DEFAULT_COMPARE_CONFIG, WARM_MS)).toEqual({ kind: 'failed', reason: 'CAS pool closed' });
  });
});

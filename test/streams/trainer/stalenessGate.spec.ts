import { describe, expect, it } from 'vitest';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { createStalenessGate } from '../../../streams/trainer/stalenessGate.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('staleness gate', () => {
  it('admits the per-version budget, holds the rest until a newer version, and measures the wait', async () => {
    let now = 0;
    const metrics = new InMemoryMetrics();
    const gate = createStalenessGate('search', { maxPolicyLag: 1, maxRecordsPerVersion: 2 }, { metrics, clock: () => now });
    gate.onVersion(0);
    const admitted: number[] = [];
    const work = [0, 1, 2, 3].map((i) => gate.admit().then(() => admitted.push(i)));
    await flush();
    // Concurrent admissions count against the budget before anything is produced.
    expect(admitted).toEqual([0, 1]);
    expect(gate.blocked()).toBe(true);
    gate.produced();
    gate.produced();
    now = 500;
    gate.onVersion(0); // not newer: no new budget
    await flush();
    expect(admitted).toEqual([0, 1]);
    gate.onVersion(1);
    await Promise.all(work);
    expect(admitted).toEqual([0, 1, 2, 3]);
    expect(gate.blocked()).toBe(false);
    expect(gate.waitedMs()).toBe(1000); // two waiters, 500 ms each
    expect(metrics.counter('search.staleness_pauses')).toBe(2);
  });

  it('open() releases every waiter for shutdown', async () => {
    const gate = createStalenessGate('rollout', { maxPolicyLag: 1, maxRecordsPerVersion: 1 }, { metrics: new InMemoryMetrics(), clock: () => 0 });
    gate.onVersion(0);
    await gate.admit();
    const waiting = gate.admit();
    gate.open();
    await expect(waiting).resolves.toBeUndefined();
  });
});

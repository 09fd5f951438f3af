import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../../../streams/transport/index.js';

const at = (offset: number, partition = 0, topic = 't') => ({ topic, partition, offset });

describe('OffsetTracker', () => {
  it('commits only up to the lowest unfinished offset', () => {
    const tracker = new OffsetTracker();
    for (let offset = 0; offset < 5; offset += 1) tracker.track(at(offset));
    expect(tracker.pending()).toBe(5);
    tracker.done(at(2));
    tracker.done(at(3));
    expect(tracker.committable()).toEqual([]);
    tracker.done(at(0));
    expect(tracker.committable()).toEqual([at(1)]);
    expect(tracker.committable()).toEqual([]);
    tracker.done(at(1));
    expect(tracker.committable()).toEqual([at(4)]);
    tracker.done(at(4));
    expect(tracker.committable()).toEqual([at(5)]);
    expect(tracker.pending()).toBe(0);
  });

  it('starts from the first tracked offset and skips gaps (compaction, filtered records)', () => {
    const tracker = new OffsetTracker();
    tracker.track(at(10));
    tracker.track(at(14));
    expect(tracker.committable()).toEqual([]);
    tracker.done(at(10));
    expect(tracker.committable()).toEqual([at(14)]);
    tracker.done(at(14));
    expect(tracker.committable()).toEqual([at(15)]);
  });

  it('keeps partitions and topics independent', () => {
    const tracker = new OffsetTracker();
    tracker.track(at(0, 0));
    tracker.track(at(0, 1));
    tracker.track(at(0, 0, 'u'));
    tracker.done(at(0, 1));
    expect(tracker.committable()).toEqual([at(1, 1)]);
    tracker.done(at(0, 0, 'u'));
    expect(tracker.committable()).toEqual([at(1, 0, 'u')]);
    expect(tracker.pending()).toBe(1);
  });

  it('forgets revoked partitions: their late completions are ignored', () => {
    const tracker = new OffsetTracker();
    tracker.track(at(0, 0));
    tracker.track(at(1, 0));
    tracker.track(at(0, 1));
    tracker.forget([{ topic: 't', partition: 0 }]);
    expect(tracker.pending()).toBe(1);
    expect(tracker.done(at(0, 0))).toBe(false);
    expect(tracker.committable()).toEqual([]);
    expect(tracker.done(at(0, 1))).toBe(true);
    expect(tracker.committable()).toEqual([at(1, 1)]);
  });

  it('counts a redelivered offset tracked twice until both are done', () => {
    const tracker = new OffsetTracker();
    tracker.track(at(0));
    tracker.track(at(0));
    tracker.done(at(0));
    expect(tracker.committable()).toEqual([]);
    expect(tracker.done(at(0))).toBe(true);
    expect(tracker.done(at(0))).toBe(false);
    expect(tracker.committable()).toEqual([at(1)]);
    expect(tracker.pending()).toBe(0);
  });

  it('handles a long in-order run (prefix reclamation)', () => {
    const tracker = new OffsetTracker();
    for (let offset = 0; offset < 5000; offset += 1) tracker.track(at(offset));
    for (let offset = 0; offset < 4999; offset += 1) tracker.done(at(offset));
    expect(tracker.committable()).toEqual([at(4999)]);
    tracker.track(at(5000));
    tracker.done(at(5000));
    tracker.done(at(4999));
    expect(tracker.committable()).toEqual([at(5001)]);
  });

  it('property: a committed position never passes an unfinished offset and only moves forward', () => {
    const scenario = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 60 })
      .chain((steps) => {
        // Offsets per partition, increasing with gaps, in a delivery order that is in order per partition.
        const next = [0, 0, 0];
        const records = steps.map(([partition, gap]) => {
          next[partition] = next[partition]! + gap;
          return at(next[partition]!, partition);
        });
        return fc.tuple(fc.constant(records), fc.shuffledSubarray(records.map((_, i) => i), { minLength: records.length }), fc.array(fc.boolean(), { minLength: records.length * 2, maxLength: records.length * 2 }));
      });
    fc.assert(
      fc.property(scenario, ([records, doneOrder, interleave]) => {
        const tracker = new OffsetTracker();
        const started = new Set<number>();
        const finished = new Set<number>();
        const committed = new Map<number, number>();
        let tracked = 0;
        let completed = 0;
        const check = (): void => {
          for (const { partition, offset } of tracker.committable()) {
            expect(offset).toBeGreaterThan(committed.get(partition) ?? -1);
            committed.set(partition, offset);
            for (const i of started) {
              const r = records[i]!;
              if (r.partition === partition && !finished.has(i)) expect(offset).toBeLessThanOrEqual(r.offset);
            }
          }
          expect(tracker.pending()).toBe(started.size - finished.size);
        };
        for (const trackFirst of interleave) {
          const canDone = doneOrder.slice(completed).find((i) => started.has(i) && !finished.has(i));
          if ((trackFirst || canDone === undefined) && tracked < records.length) {
            tracker.track(records[tracked]!);
            started.add(tracked);
            tracked += 1;
          } else if (canDone !== undefined) {
            tracker.done(records[canDone]!);
            finished.add(canDone);
            completed = doneOrder.findIndex((i) => !finished.has(i));
            if (completed === -1) completed = doneOrder.length;
          }
          check();
        }
        while (tracked < records.length) {
          tracker.track(records[tracked]!);
          started.add(tracked);
          tracked += 1;
        }
        for (const i of doneOrder) {
          if (!finished.has(i)) {
            tracker.done(records[i]!);
            finished.add(i);
            check();
          }
        }
        check();
        // Once everything is done, every partition that progressed is committed past its last offset.
        for (const partition of [0, 1, 2]) {
          const offsets = records.filter((r) => r.partition === partition).map((r) => r.offset);
          if (offsets.length > 0) expect(committed.get(partition)).toBe(Math.max(...offsets) + 1);
        }
        expect(tracker.pending()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

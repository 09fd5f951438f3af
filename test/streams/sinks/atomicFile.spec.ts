import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sequenceFileName, shardFileName } from '../../../streams/sinks/atomicFile.js';

describe('shard file names', () => {
  it('follow the topic-partition-offsets layout', () => {
    expect(shardFileName('astro.traces.v1', 0, 0, 41, 'parquet')).toBe('astro.traces.v1-p0-000000000000-000000000041.parquet');
    expect(shardFileName('astro.trees.v1', 12, 1_000_000, 1_000_999, '.arrow')).toBe('astro.trees.v1-p12-000001000000-000001000999.arrow');
    expect(sequenceFileName('traces', 7, 'parquet')).toBe('traces-000000000007.parquet');
  });

  it('sort in offset order within a partition', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999_999_999_999 }), { minLength: 2, maxLength: 20 }), (starts) => {
        const names = starts.map((s) => shardFileName('astro.traces.v1', 3, s, s + 10, 'parquet'));
        const byName = [...names].sort();
        const byOffset = [...starts].sort((a, b) => a - b).map((s) => shardFileName('astro.traces.v1', 3, s, s + 10, 'parquet'));
        expect(byName).toEqual(byOffset);
      }),
    );
  });

  it('are a function of the range only, and distinct for distinct ranges', () => {
    fc.assert(
      fc.property(fc.nat({ max: 64 }), fc.nat({ max: 1e9 }), fc.nat({ max: 1e6 }), fc.nat({ max: 1e6 }), (p, first, len, delta) => {
        const a = shardFileName('astro.traces.v1', p, first, first + len, 'parquet');
        expect(shardFileName('astro.traces.v1', p, first, first + len, 'parquet')).toBe(a);
        expect(shardFileName('astro.traces.v1', p, first, first + len + delta + 1, 'parquet')).not.toBe(a);
      }),
    );
  });

  it('reject ranges and names that cannot be shard names', () => {
    expect(() => shardFileName('astro.traces.v1', 0, 5, 4, 'parquet')).toThrow(RangeError);
    expect(() => shardFileName('astro.traces.v1', -1, 0, 4, 'parquet')).toThrow(RangeError);
    expect(() => shardFileName('astro.traces.v1', 0, 0.5, 4, 'parquet')).toThrow(RangeError);
    expect(() => shardFileName('../etc/passwd', 0, 0, 4, 'parquet')).toThrow(RangeError);
    expect(() => sequenceFileName('traces', -2, 'parquet')).toThrow(RangeError);
  });
});

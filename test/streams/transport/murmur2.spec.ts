import fc from 'fast-check';
import kafkajs from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, toPositive } from '../../../streams/transport/index.js';

const utf8 = new TextEncoder();
// kafkajs does not export its hash; its file is the reference (the partitioner only exposes hash % n).
const kafkaMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const metadata = (partitions: number): PartitionMetadata[] =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
  }));

describe('murmur2', () => {
  it('matches the Java client UtilsTest vectors', () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(utf8.encode(key))).toBe(hash);
  });

  it('toPositive clears the sign bit (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it("places every key where kafkajs's DefaultPartitioner does", () => {
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        const expected = partitioner({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } });
        expect(partitionForKey(key, partitions)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('handles long ASCII keys and non-ASCII after an ASCII prefix (fast path and fallback)', () => {
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    const keys = ['a'.repeat(65), 'k'.repeat(300), `${'p'.repeat(70)}é`, 'abcé', 'problem-42', '∑x', ''];
    for (const key of keys) {
      for (const partitions of [1, 7, 12, 64]) {
        const expected = partitioner({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } });
        expect(partitionForKey(key, partitions)).toBe(expected);
      }
    }
  });

  it("agrees bit for bit with kafkajs's murmur2 on raw bytes of every tail length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 23 }), (data) => {
        expect(murmur2(data)).toBe(kafkaMurmur2(Buffer.from(data)));
      }),
      { numRuns: 2000 },
    );
  });
});

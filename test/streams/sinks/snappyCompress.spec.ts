import fc from 'fast-check';
import { snappyUncompress } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { snappyCompress } from '../../../streams/sinks/snappyCompress.js';

/** True when compress → reference uncompress gives the input back (Buffer.equals: deep toEqual is slow on big arrays). */
function roundTrips(input: Uint8Array): boolean {
  const compressed = snappyCompress(input) as Uint8Array;
  const output = new Uint8Array(input.length);
  snappyUncompress(compressed, output);
  return Buffer.from(output.buffer, output.byteOffset, output.length).equals(input);
}

describe('snappyCompress', () => {
  it('round-trips arbitrary bytes through the reference decompressor', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        expect(roundTrips(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips repetitive text across 64 KiB fragments, and compresses it', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 300_000 }), (words, size) => {
        let text = '';
        for (let i = 0; text.length < size; i++) text += `${words[i % words.length]} ${i % 97} `;
        const bytes = new TextEncoder().encode(text);
        expect(roundTrips(bytes)).toBe(true);
        if (bytes.length > 10_000) expect((snappyCompress(bytes) as Uint8Array).length).toBeLessThan(bytes.length / 2);
      }),
      { numRuns: 40 },
    );
  });

  it('handles long matches and long literals at fragment edges', () => {
    const zeros = new Uint8Array(200_000);
    expect(roundTrips(zeros)).toBe(true);
    const noise = new Uint8Array(70_000).map((_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
    expect(roundTrips(noise)).toBe(true);
  });
});

/**
 * Kafka's key hash: murmur2 as in the Java client's `Utils.murmur2`, so both transports place a
 * key on the partition a Java producer would (the Kafka client's own default partitioner takes
 * `hash >>> 0` instead of Java's `hash & 0x7fffffff`, so the transport picks partitions itself).
 * Everything is 32-bit int arithmetic: `Math.imul` reproduces Java's overflow.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

// Stateless, so one shared instance is safe.
const utf8 = new TextEncoder();

/** murmur2 of `data`, as a signed 32-bit integer (Java `int`). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2]! << 16;
    // falls through: the tail bytes are mixed in together, as in the Java switch
    case 2:
      h ^= data[whole + 1]! << 8;
    // falls through
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for negatives). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key: UTF-8 bytes, murmur2,
 * `toPositive(hash) % numPartitions`.
 */
export function partitionForKey(key: string, numPartitions: number): number {
  return toPositive(murmur2(asciiBytes(key) ?? utf8.encode(key))) % numPartitions;
}

// Reused buffer for the common case of short ASCII keys: their UTF-8 bytes are their char codes.
let scratch = new Uint8Array(64);

/** The key's bytes when it is pure ASCII (a view into a reused buffer), else undefined. */
function asciiBytes(key: string): Uint8Array | undefined {
  if (key.length > scratch.length) scratch = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i += 1) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return undefined;
    scratch[i] = code;
  }
  return scratch.subarray(0, key.length);
}

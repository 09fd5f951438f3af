// Snappy block compression (the raw format Parquet's SNAPPY codec uses), written for speed in
// the Parquet worker: output goes straight into one preallocated Uint8Array. hyparquet-writer's
// built-in compressor appends byte by byte through a growable writer and was ~40% of encode time
// for trace text. Plain JS so the worker (parquetEncodeWorker.js) can import it from src and dist.
// Same algorithm as the reference implementation: 64 KiB fragments, 4-byte hash matches, skip
// heuristic over incompressible input. Trace text compresses ~3:1 into matches of ~9 bytes, so the
// per-match cost dominates: 4-byte loads through a DataView (one word load, not four byte loads),
// the hashed word kept for the candidate compare, the match end found from the XOR of the first
// differing word, short copies emitted inline. Measured on trace pages: ~250 -> ~450 MB/s (CPU time).
// Kept over the maintained codec by measurement (issue #17): against hyparquet-writer 0.17's own
// snappyCompress on the same 31.7 MB of trace text in 1 MiB pages, CPU time, alternating rounds,
// 239-269 vs 83-97 MB/s = 2.8-3.0x (`node dist/bench/parquetSink.js snappy`, BENCHMARKS.md).

const BLOCK_SIZE = 1 << 16;
const MAX_TABLE_BITS = 14;
const INPUT_MARGIN = 15;
// Offsets inside a 64 KiB fragment fit 16 bits.
const table = new Uint16Array(1 << MAX_TABLE_BITS);

/** @param {Uint8Array} a @param {number} i */
function load32(a, i) {
  return a[i] | (a[i + 1] << 8) | (a[i + 2] << 16) | (a[i + 3] << 24);
}

/** Worst-case compressed size of `n` bytes (the reference implementation's bound). */
function maxCompressedLength(n) {
  return 32 + n + Math.floor(n / 6);
}

/**
 * @param {Uint8Array} input
 * @returns {Uint8Array} Snappy-compressed bytes (a view of a right-sized allocation)
 */
export function snappyCompress(input) {
  const out = new Uint8Array(maxCompressedLength(input.length));
  return out.subarray(0, compressInto(input, out));
}

/**
 * A snappy compressor that reuses one output buffer: each result is a view that the next call
 * overwrites, so the caller must copy it out first (page writers append it at once). Saves an
 * allocation of ~the page size per page, which was a good part of the worker's GC time.
 *
 * @returns {(input: Uint8Array) => Uint8Array}
 */
export function createSnappyCompressor() {
  let out = new Uint8Array(0);
  return (input) => {
    const need = maxCompressedLength(input.length);
    if (out.length < need) out = new Uint8Array(Math.max(need, out.length * 2));
    return out.subarray(0, compressInto(input, out));
  };
}

/** @param {Uint8Array} input @param {Uint8Array} out @returns {number} bytes written */
function compressInto(input, out) {
  const n = input.length;
  let op = 0;
  let v = n;
  while (v >= 0x80) {
    out[op++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[op++] = v;
  for (let start = 0; start < n; start += BLOCK_SIZE) {
    op = compressFragment(input, start, Math.min(start + BLOCK_SIZE, n), out, op);
  }
  return op;
}

/** @param {Uint8Array} input @param {number} ip0 @param {number} ipEnd @param {Uint8Array} out @param {number} op */
function compressFragment(input, ip0, ipEnd, out, op) {
  const len = ipEnd - ip0;
  let bits = 8;
  while (bits < MAX_TABLE_BITS && 1 << bits < len) bits++;
  const shift = 32 - bits;
  table.fill(0, 0, 1 << bits);
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let nextEmit = ip0;
  if (len >= INPUT_MARGIN) {
    const ipLimit = ipEnd - INPUT_MARGIN;
    let ip = ip0 + 1;
    let nextData = dv.getInt32(ip, true);
    let nextHash = Math.imul(nextData, 0x1e35a7bd) >>> shift;
    outer: for (;;) {
      let skip = 32;
      let nextIp = ip;
      let candidate = 0;
      let data = 0;
      do {
        ip = nextIp;
        data = nextData;
        const hash = nextHash;
        nextIp = ip + (skip++ >>> 5);
        if (nextIp > ipLimit) break outer;
        nextData = dv.getInt32(nextIp, true);
        nextHash = Math.imul(nextData, 0x1e35a7bd) >>> shift;
        candidate = ip0 + table[hash];
        table[hash] = ip - ip0;
      } while (data !== dv.getInt32(candidate, true));

      op = emitLiteral(input, nextEmit, ip - nextEmit, out, op);
      for (;;) {
        const base = ip;
        let matched = 4;
        // Four bytes per step while they fit; the first differing byte of a mismatching word is
        // its lowest set bit of the XOR / 8 (little-endian), so no byte loop in the common case.
        const limit = ipEnd - 4;
        for (;;) {
          if (ip + matched > limit) {
            while (ip + matched < ipEnd && input[ip + matched] === input[candidate + matched]) matched++;
            break;
          }
          const x = dv.getInt32(ip + matched, true) ^ dv.getInt32(candidate + matched, true);
          if (x !== 0) {
            matched += (31 - Math.clz32(x & -x)) >>> 3;
            break;
          }
          matched += 4;
        }
        ip += matched;
        const offset = base - candidate;
        if (matched < 12 && offset < 2048) {
          // The common short copy (2 bytes), inline.
          out[op++] = 1 | ((matched - 4) << 2) | ((offset >>> 8) << 5);
          out[op++] = offset & 0xff;
        } else {
          op = emitCopy(offset, matched, out, op);
        }
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        table[Math.imul(dv.getInt32(ip - 1, true), 0x1e35a7bd) >>> shift] = ip - 1 - ip0;
        const cur = dv.getInt32(ip, true);
        const h = Math.imul(cur, 0x1e35a7bd) >>> shift;
        candidate = ip0 + table[h];
        table[h] = ip - ip0;
        if (cur !== dv.getInt32(candidate, true)) break;
      }
      ip++;
      nextData = dv.getInt32(ip, true);
      nextHash = Math.imul(nextData, 0x1e35a7bd) >>> shift;
    }
  }
  if (nextEmit < ipEnd) op = emitLiteral(input, nextEmit, ipEnd - nextEmit, out, op);
  return op;
}

/** @param {Uint8Array} input @param {number} from @param {number} len @param {Uint8Array} out @param {number} op */
function emitLiteral(input, from, len, out, op) {
  const n = len - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else {
    // A fragment is at most 64 KiB, so two length bytes always suffice.
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  }
  if (len < 64) {
    for (let i = 0; i < len; i++) out[op + i] = input[from + i];
  } else {
    out.set(input.subarray(from, from + len), op);
  }
  return op + len;
}

/** @param {number} offset @param {number} len @param {Uint8Array} out @param {number} op */
function emitCopy(offset, len, out, op) {
  while (len >= 68) {
    op = emitCopyUpTo64(offset, 64, out, op);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyUpTo64(offset, 60, out, op);
    len -= 60;
  }
  return emitCopyUpTo64(offset, len, out, op);
}

/** @param {number} offset @param {number} len @param {Uint8Array} out @param {number} op */
function emitCopyUpTo64(offset, len, out, op) {
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((len - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}

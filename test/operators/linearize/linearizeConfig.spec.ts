import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configHash, sha256Hex } from '../../../operators/common/hash.js';
import { defaultLinearizeConfig, linearizeConfigHash, linearizerId, parseLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';

describe('linearizeConfig', () => {
  it('has the method defaults', () => {
    expect(defaultLinearizeConfig).toEqual({ kMix: [0, 1, 1, 2], reflectionMinQ: 0.75, reflectionEverySteps: 3, ablation: false, seed: 0, maxTraceTokens: 8192 });
    expect(linearizerId).toBe('astro-linearizer@1.1.0');
  });

  it('rejects bad values with a config error naming the field', () => {
    expect(() => parseLinearizeConfig({ kMix: [] })).toThrow(/kMix/);
    expect(() => parseLinearizeConfig({ reflectionMinQ: 1.5 })).toThrow(expect.objectContaining({ kind: 'config', retriable: false }));
    expect(() => parseLinearizeConfig({ kMix: [-1] })).toThrow(/kMix/);
    expect(parseLinearizeConfig({ seed: 7, maxTraceChars: 100 })).toMatchObject({ seed: 7, maxTraceChars: 100, kMix: [0, 1, 1, 2] });
  });

  it('hashes everything that changes output, and only that', () => {
    const base = linearizeConfigHash(defaultLinearizeConfig);
    expect(linearizeConfigHash({ ...defaultLinearizeConfig })).toBe(base);
    for (const change of [{ seed: 1 }, { kMix: [0, 1] }, { ablation: true }, { reflectionMinQ: 0.5 }, { reflectionEverySteps: 2 }, { maxTraceChars: 10 }]) {
      expect(linearizeConfigHash({ ...defaultLinearizeConfig, ...change })).not.toBe(base);
    }
    expect(base).toMatch(/^[0-9a-f]{16}$/u);
  });

  it('hashes a config mutated in place by its new values (remembered by fields, not by object)', () => {
    const config = { ...defaultLinearizeConfig, kMix: [0, 1] };
    const before = linearizeConfigHash(config);
    config.kMix.push(2);
    expect(linearizeConfigHash(config)).toBe(linearizeConfigHash({ ...defaultLinearizeConfig, kMix: [0, 1, 2] }));
    expect(linearizeConfigHash(config)).not.toBe(before);
    expect(linearizeConfigHash({ ...defaultLinearizeConfig, maxTraceTokens: 4096 })).not.toBe(linearizeConfigHash(defaultLinearizeConfig));
    // The pinned hash of the defaults: trace ids of every recorded dataset depend on it.
    expect(linearizeConfigHash(defaultLinearizeConfig)).toBe(configHash({ linearizer: linearizerId, kMix: [0, 1, 1, 2], reflectionMinQ: 0.75, reflectionEverySteps: 3, ablation: false, seed: 0, maxTraceChars: null, maxTraceTokens: 8192 }));
  });
});

describe('sha256Hex', () => {
  it('is the sha256 of the input, for strings and bytes', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(sha256Hex('')).toBe(createHash('sha256').update('').digest('hex'));
  });
});

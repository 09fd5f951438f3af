import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { buildPolicyValueModel, readPolicyValueWeights, ONNX_IR_VERSION, ONNX_OPSET } from '../../models/onnxGraph.js';
import { randomWeights } from './weightsFixture.js';

describe('buildPolicyValueModel / readPolicyValueWeights', () => {
  it('round-trips weights bit-exactly, including odd float values', () => {
    const w = randomWeights(3, 7, 11, [5, 4]);
    w.policy.weight[0] = -0;
    w.policy.weight[1] = 1e-45; // subnormal
    w.policy.weight[2] = 3.4028234663852886e38;
    const back = readPolicyValueWeights(buildPolicyValueModel(w));
    expect(back.featureCount).toBe(7);
    expect(back.actionCount).toBe(11);
    expect(back.trunk.map((l) => [l.inputSize, l.outputSize])).toEqual([[7, 5], [5, 4]]);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    for (const [a, b] of [...w.trunk.map((l, i) => [l, back.trunk[i]!] as const), [w.policy, back.policy] as const, [w.value, back.value] as const]) {
      expect(bits(b.weight)).toEqual(bits(a.weight));
      expect(bits(b.bias)).toEqual(bits(a.bias));
    }
  });

  it('is deterministic and survives build → read → build byte-identically (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }), (seed, F, A, hidden) => {
        const bytes = buildPolicyValueModel(randomWeights(seed, F, A, hidden));
        expect(buildPolicyValueModel(readPolicyValueWeights(bytes))).toEqual(bytes);
      }),
      { numRuns: 40 },
    );
  });

  it('writes IR 8 / opset 17, Softmax on axis -1, named inputs and outputs', () => {
    const model = onnxProto.onnx.ModelProto.decode(buildPolicyValueModel(randomWeights(1, 4, 6, [3])));
    expect(Number(model.irVersion)).toBe(ONNX_IR_VERSION);
    expect(Number(model.opsetImport[0]?.version)).toBe(ONNX_OPSET);
    expect(model.graph?.input?.map((i) => i.name)).toEqual(['features', 'mask']);
    expect(model.graph?.output?.map((o) => o.name)).toEqual(['policy', 'value']);
    const softmax = model.graph?.node?.find((n) => n.opType === 'Softmax');
    expect(Number(softmax?.attribute?.[0]?.i)).toBe(-1);
  });

  it('rejects inconsistent shapes', () => {
    const w = randomWeights(1, 4, 6, [3]);
    expect(() => buildPolicyValueModel({ ...w, featureCount: 5 })).toThrow(RangeError);
    expect(() => buildPolicyValueModel({ ...w, actionCount: 7 })).toThrow(RangeError);
    expect(() => buildPolicyValueModel({ ...w, trunk: [] })).toThrow(RangeError);
  });
});

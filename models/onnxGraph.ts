import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: its module object holds the `onnx` namespace.
const { onnx } = onnxProto;

/** One fully connected layer, `y = x · weight + bias`; `weight` is row-major [inputSize, outputSize] (the tfjs Dense kernel layout). */
export interface DenseLayer {
  readonly inputSize: number;
  readonly outputSize: number;
  /** Row-major [inputSize, outputSize]. */
  readonly weight: Float32Array;
  /** [outputSize]. */
  readonly bias: Float32Array;
}

/**
 * The weights of the policy-value MLP: a ReLU trunk, a policy head (logits over actions) and a
 * value head (one logit, squashed to the probability of solving from the state).
 */
export interface PolicyValueWeights {
  readonly featureCount: number;
  readonly actionCount: number;
  /** Trunk layers in order; each is followed by a ReLU. At least one. */
  readonly trunk: readonly DenseLayer[];
  /** [lastHidden → actionCount]. */
  readonly policy: DenseLayer;
  /** [lastHidden → 1]. */
  readonly value: DenseLayer;
}

/** IR 8 / opset 17: well inside what onnxruntime-node 1.30 accepts (IR ≤ 13, opset ≤ 26). */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
/** Graph input/output names, the contract between the builder, the runtime wrapper and the trainer. */
export const POLICY_VALUE_IO = { features: 'features', mask: 'mask', policy: 'policy', value: 'value' } as const;
/** Added to illegal logits (times 1 - mask): exp underflows to exactly 0, so illegal actions get probability 0. */
export const MASK_PENALTY = 1e9;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

/** Checks that layer shapes chain and array lengths agree; a mismatch is a programmer error. */
export function validatePolicyValueWeights(w: PolicyValueWeights): void {
  if (w.trunk.length === 0) throw new RangeError('policy-value net needs at least one trunk layer');
  let width = w.featureCount;
  const check = (layer: DenseLayer, name: string, expectOut?: number): void => {
    if (layer.inputSize !== width) throw new RangeError(`${name}: input ${layer.inputSize}, expected ${width}`);
    if (expectOut !== undefined && layer.outputSize !== expectOut) throw new RangeError(`${name}: output ${layer.outputSize}, expected ${expectOut}`);
    if (layer.weight.length !== layer.inputSize * layer.outputSize) throw new RangeError(`${name}: weight length ${layer.weight.length}`);
    if (layer.bias.length !== layer.outputSize) throw new RangeError(`${name}: bias length ${layer.bias.length}`);
  };
  w.trunk.forEach((layer, i) => {
    check(layer, `trunk.${i}`);
    width = layer.outputSize;
  });
  check(w.policy, 'policy', w.actionCount);
  check(w.value, 'value', 1);
}

function floatTensor(name: string, dims: readonly number[], data: Float32Array): OnnxTypes.ITensorProto {
  // Raw little-endian bytes (not float_data) so a read back is bit-exact and compact.
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] ?? 0, true);
  return { name, dims: [...dims], dataType: FLOAT, rawData: raw };
}

function valueInfo(name: string, width: number): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

function node(opType: string, inputs: string[], outputs: string[], attribute: OnnxTypes.IAttributeProto[] = []): OnnxTypes.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0] ?? opType, attribute };
}

function denseInitializers(prefix: string, layer: DenseLayer): OnnxTypes.ITensorProto[] {
  return [
    floatTensor(`${prefix}.weight`, [layer.inputSize, layer.outputSize], layer.weight),
    floatTensor(`${prefix}.bias`, [layer.outputSize], layer.bias),
  ];
}

/**
 * Serializes the policy-value MLP as an ONNX model: inputs `features` [B, F] and `mask` [B, A]
 * (1 legal / 0 illegal); outputs `policy` [B, A] (softmax over legal actions, 0 elsewhere) and
 * `value` [B, 1] (sigmoid). Deterministic: the same weights always give the same bytes.
 *
 * @example
 * const bytes = buildPolicyValueModel(initPolicyValueWeights({ featureCount: 40, actionCount: 150, seed: 1 }));
 */
export function buildPolicyValueModel(weights: PolicyValueWeights): Uint8Array {
  validatePolicyValueWeights(weights);
  const { features, mask, policy, value } = POLICY_VALUE_IO;
  const nodes: OnnxTypes.INodeProto[] = [];
  const initializer: OnnxTypes.ITensorProto[] = [];
  let h: string = features;
  weights.trunk.forEach((layer, i) => {
    initializer.push(...denseInitializers(`trunk.${i}`, layer));
    nodes.push(node('Gemm', [h, `trunk.${i}.weight`, `trunk.${i}.bias`], [`trunk.${i}.linear`]));
    nodes.push(node('Relu', [`trunk.${i}.linear`], [`trunk.${i}.out`]));
    h = `trunk.${i}.out`;
  });
  initializer.push(...denseInitializers('policy', weights.policy), ...denseInitializers('value', weights.value));
  initializer.push(floatTensor('const.one', [], new Float32Array([1])), floatTensor('const.penalty', [], new Float32Array([MASK_PENALTY])));
  nodes.push(
    node('Gemm', [h, 'policy.weight', 'policy.bias'], ['policy.logits']),
    // (mask - 1) * 1e9 is 0 for legal actions, so their logits are untouched (exactly).
    node('Sub', [mask, 'const.one'], ['mask.minus_one']),
    node('Mul', ['mask.minus_one', 'const.penalty'], ['mask.penalty']),
    node('Add', ['policy.logits', 'mask.penalty'], ['policy.masked_logits']),
    node('Softmax', ['policy.masked_logits'], [policy], [{ name: 'axis', type: ATTR_INT, i: -1 }]),
    node('Gemm', [h, 'value.weight', 'value.bias'], ['value.logit']),
    node('Sigmoid', ['value.logit'], [value]),
  );
  const model: OnnxTypes.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'astro-stream',
    producerVersion: '1',
    graph: {
      name: 'policy_value_mlp',
      node: nodes,
      initializer,
      input: [valueInfo(features, weights.featureCount), valueInfo(mask, weights.actionCount)],
      output: [valueInfo(policy, weights.actionCount), valueInfo(value, 1)],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function tensorData(t: OnnxTypes.ITensorProto): Float32Array {
  if (t.dataType !== FLOAT) throw new RangeError(`initializer ${t.name}: data type ${t.dataType}, expected FLOAT`);
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(t.floatData ?? []);
}

function dims(t: OnnxTypes.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => Number(d));
}

/**
 * Reads the weights back out of a model written by {@link buildPolicyValueModel} (or by the
 * trainer's export, which uses the same initializer names). Bit-exact round trip.
 */
export function readPolicyValueWeights(bytes: Uint8Array): PolicyValueWeights {
  const model = onnx.ModelProto.decode(bytes);
  const byName = new Map<string, OnnxTypes.ITensorProto>();
  for (const t of model.graph?.initializer ?? []) if (t.name) byName.set(t.name, t);
  const dense = (prefix: string): DenseLayer => {
    const w = byName.get(`${prefix}.weight`);
    const b = byName.get(`${prefix}.bias`);
    if (!w || !b) throw new RangeError(`model has no ${prefix} layer`);
    const [inputSize, outputSize] = dims(w);
    if (inputSize === undefined || outputSize === undefined) throw new RangeError(`${prefix}.weight is not 2-D`);
    return { inputSize, outputSize, weight: tensorData(w), bias: tensorData(b) };
  };
  const trunk: DenseLayer[] = [];
  for (let i = 0; byName.has(`trunk.${i}.weight`); i++) trunk.push(dense(`trunk.${i}`));
  const first = trunk[0];
  if (!first) throw new RangeError('model has no trunk layers');
  const policy = dense('policy');
  const weights: PolicyValueWeights = {
    featureCount: first.inputSize,
    actionCount: policy.outputSize,
    trunk,
    policy,
    value: dense('value'),
  };
  validatePolicyValueWeights(weights);
  return weights;
}

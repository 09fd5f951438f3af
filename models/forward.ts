import { MASK_PENALTY, type DenseLayer, type PolicyValueWeights } from './onnxGraph.js';

/** Output of one forward pass over a batch: `priors` [batch, A] and `values` [batch]. */
export interface PolicyValueOutput {
  readonly priors: Float32Array;
  readonly values: Float32Array;
}

function dense(layer: DenseLayer, x: Float64Array, relu: boolean): Float64Array {
  const out = new Float64Array(layer.outputSize);
  for (let o = 0; o < layer.outputSize; o++) out[o] = layer.bias[o] ?? 0;
  for (let i = 0; i < layer.inputSize; i++) {
    const xi = x[i] ?? 0;
    if (xi === 0) continue;
    const row = i * layer.outputSize;
    for (let o = 0; o < layer.outputSize; o++) out[o] = (out[o] ?? 0) + xi * (layer.weight[row + o] ?? 0);
  }
  if (relu) for (let o = 0; o < out.length; o++) if ((out[o] ?? 0) < 0) out[o] = 0;
  return out;
}

/**
 * The same computation as the ONNX graph, in plain TypeScript (float64 accumulation). The
 * reference that tests hold onnxruntime to, and a fallback where onnxruntime is unavailable.
 */
export function forwardPolicyValue(weights: PolicyValueWeights, features: Float32Array, mask: Float32Array, batch: number): PolicyValueOutput {
  const F = weights.featureCount;
  const A = weights.actionCount;
  const priors = new Float32Array(batch * A);
  const values = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    let h: Float64Array = Float64Array.from(features.subarray(b * F, (b + 1) * F));
    for (const layer of weights.trunk) h = dense(layer, h, true);
    const logits = dense(weights.policy, h, false);
    let max = -Infinity;
    for (let a = 0; a < A; a++) {
      const masked = (logits[a] ?? 0) + ((mask[b * A + a] ?? 0) - 1) * MASK_PENALTY;
      logits[a] = masked;
      if (masked > max) max = masked;
    }
    let sum = 0;
    for (let a = 0; a < A; a++) {
      const e = Math.exp((logits[a] ?? 0) - max);
      logits[a] = e;
      sum += e;
    }
    for (let a = 0; a < A; a++) priors[b * A + a] = (logits[a] ?? 0) / sum;
    const v = dense(weights.value, h, false)[0] ?? 0;
    values[b] = 1 / (1 + Math.exp(-v));
  }
  return { priors, values };
}

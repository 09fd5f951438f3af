import { createRng } from '../../operators/common/rng.js';
import type { PolicyValueWeights } from '../../models/onnxGraph.js';

/** Random weights of the given shape (not the init scheme: large enough that outputs vary a lot). */
export function randomWeights(seed: number, F: number, A: number, hidden: number[]): PolicyValueWeights {
  const rng = createRng(seed);
  const layer = (i: number, o: number) => ({
    inputSize: i,
    outputSize: o,
    weight: Float32Array.from({ length: i * o }, () => rng.next() * 2 - 1),
    bias: Float32Array.from({ length: o }, () => rng.next() - 0.5),
  });
  const trunk = [];
  let w = F;
  for (const h of hidden) {
    trunk.push(layer(w, h));
    w = h;
  }
  return { featureCount: F, actionCount: A, trunk, policy: layer(w, A), value: layer(w, 1) };
}

import { createRng, type Rng } from '../../operators/common/rng.js';
import { ACTION_COUNT, FEATURE_COUNT } from '../../domains/countdown/actions.js';
import { buildPolicyValueModel, type DenseLayer, type PolicyValueWeights } from '../onnxGraph.js';

/** Shape and seed of a freshly initialized policy-value net. */
export interface InitWeightsConfig {
  readonly featureCount: number;
  readonly actionCount: number;
  /** Trunk widths; default [128, 128]. */
  readonly hidden?: readonly number[];
  readonly seed: number;
  /**
   * Multiplier on the Glorot bound of both heads. Small, so the initial prior is near-uniform
   * over legal actions and the initial value near 0.5 (no knowledge is claimed before training).
   * Default 0.01.
   */
  readonly headScale?: number;
}

/** The seed `models/countdown/initial.onnx` is generated from. */
export const INITIAL_COUNTDOWN_SEED = 20250701;

function uniformLayer(rng: Rng, inputSize: number, outputSize: number, bound: number): DenseLayer {
  const weight = new Float32Array(inputSize * outputSize);
  for (let i = 0; i < weight.length; i++) weight[i] = (rng.next() * 2 - 1) * bound;
  return { inputSize, outputSize, weight, bias: new Float32Array(outputSize) };
}

/**
 * Seeded initialization: He-uniform for the ReLU trunk, Glorot-uniform scaled by `headScale` for
 * the heads, zero biases. Same config, same weights, bit for bit.
 */
export function initPolicyValueWeights(config: InitWeightsConfig): PolicyValueWeights {
  const hidden = config.hidden ?? [128, 128];
  const headScale = config.headScale ?? 0.01;
  const rng = createRng(config.seed);
  const trunk: DenseLayer[] = [];
  let width = config.featureCount;
  for (const size of hidden) {
    trunk.push(uniformLayer(rng, width, size, Math.sqrt(6 / width)));
    width = size;
  }
  const policy = uniformLayer(rng, width, config.actionCount, headScale * Math.sqrt(6 / (width + config.actionCount)));
  const value = uniformLayer(rng, width, 1, headScale * Math.sqrt(6 / (width + 1)));
  return { featureCount: config.featureCount, actionCount: config.actionCount, trunk, policy, value };
}

/** The bytes of `models/countdown/initial.onnx`: the untrained Countdown net from the fixed seed. */
export function generateInitialCountdownModel(): Uint8Array {
  return buildPolicyValueModel(
    initPolicyValueWeights({ featureCount: FEATURE_COUNT, actionCount: ACTION_COUNT, seed: INITIAL_COUNTDOWN_SEED }),
  );
}

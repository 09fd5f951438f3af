// Worker-thread entry of the policy-value trainer: tfjs (wasm backend) autodiff + Adam over the
// same MLP that models/onnxGraph.ts serializes. Plain ESM JavaScript so the same file runs from
// the TypeScript sources (tests) and from dist/ (tsc copies it with allowJs).
//
// Protocol (one request at a time, answered in order):
//   { type: 'init', id, weights, learningRate, clipEpsilon, valueWeight }  → { id, ok }
//   { type: 'train', id, batch }                                           → { id, ok, stats }
//   { type: 'export', id }                                                 → { id, ok, weights }
// A batch holds packed typed arrays (see streams/trainer/trainingBatch.ts for the layout).
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

if (parentPort === null) throw new Error('trainerWorker.js must run in a worker thread');
const port = parentPort;

// Same penalty as the ONNX graph: illegal actions get exactly zero probability.
const MASK_PENALTY = 1e9;

let model; // { trunk: [{w, b}], policy: {w, b}, value: {w, b}, featureCount, actionCount }
let optimizer;
let clipEpsilon = 0.2;
let valueWeight = 1;

const dense = (layer) => ({
  inputSize: layer.inputSize,
  outputSize: layer.outputSize,
  w: tf.variable(tf.tensor2d(layer.weight, [layer.inputSize, layer.outputSize])),
  b: tf.variable(tf.tensor1d(layer.bias)),
});

function forward(features) {
  let h = features;
  for (const layer of model.trunk) h = tf.relu(tf.add(tf.matMul(h, layer.w), layer.b));
  const logits = tf.add(tf.matMul(h, model.policy.w), model.policy.b);
  const valueLogit = tf.reshape(tf.add(tf.matMul(h, model.value.w), model.value.b), [-1]);
  return { logits, valueLogit };
}

async function init(message) {
  // The wasm backend must be selected and ready before the first op (tfjs would fall back to cpu).
  await tf.setBackend('wasm');
  await tf.ready();
  const w = message.weights;
  model = {
    featureCount: w.featureCount,
    actionCount: w.actionCount,
    trunk: w.trunk.map(dense),
    policy: dense(w.policy),
    value: dense(w.value),
  };
  optimizer = tf.train.adam(message.learningRate);
  clipEpsilon = message.clipEpsilon;
  valueWeight = message.valueWeight;
  return { backend: tf.getBackend() };
}

function train(batch) {
  const n = batch.size;
  const F = model.featureCount;
  const A = model.actionCount;
  const S = batch.sequences;
  let parts;
  const lossValue = tf.tidy(() => {
    const features = tf.tensor2d(batch.features, [n, F]);
    const mask = tf.tensor2d(batch.mask, [n, A]);
    const target = tf.tensor2d(batch.policyTarget, [n, A]);
    const targetWeight = tf.tensor1d(batch.policyWeight);
    const valueTarget = tf.tensor1d(batch.valueTarget);
    const valueW = tf.tensor1d(batch.valueWeight);
    const actionOneHot = tf.oneHot(tf.tensor1d(batch.action, 'int32'), A); // action -1 → all zeros
    const cost = optimizer.minimize(() => {
      const { logits, valueLogit } = forward(features);
      const logp = tf.logSoftmax(tf.add(logits, tf.mul(tf.sub(mask, 1), MASK_PENALTY)));
      // AlphaZero policy target: cross-entropy against the visit distribution.
      const az = tf.mul(tf.neg(tf.sum(tf.mul(target, logp), 1)), targetWeight);
      // Value target: sigmoid cross-entropy on the value logit (stable form).
      const bce = tf.add(tf.sub(tf.relu(valueLogit), tf.mul(valueLogit, valueTarget)), tf.log1p(tf.exp(tf.neg(tf.abs(valueLogit)))));
      const value = tf.mul(bce, valueW);
      let pg = tf.scalar(0);
      if (S > 0) {
        // GRPO clipped surrogate per sequence: ratio = exp(Σ log π_new(a_t|s_t) − log π_old(sequence)).
        const stepLogp = tf.sum(tf.mul(actionOneHot, logp), 1);
        const segment = tf.tensor2d(batch.segment, [S, n]);
        const seqLogp = tf.reshape(tf.matMul(segment, tf.reshape(stepLogp, [n, 1])), [S]);
        const ratio = tf.exp(tf.clipByValue(tf.sub(seqLogp, tf.tensor1d(batch.oldLogp)), -20, 20));
        const adv = tf.tensor1d(batch.advantage);
        const unclipped = tf.mul(ratio, adv);
        const clipped = tf.mul(tf.clipByValue(ratio, 1 - clipEpsilon, 1 + clipEpsilon), adv);
        pg = tf.div(tf.neg(tf.sum(tf.minimum(unclipped, clipped))), Math.max(S, 1));
      }
      const azMean = tf.div(tf.sum(az), n);
      const valueMean = tf.div(tf.sum(value), n);
      // Kept past the optimizer's tidy so the loss parts can be reported.
      parts = { az: tf.keep(azMean), value: tf.keep(valueMean), pg: tf.keep(pg) };
      return tf.add(tf.add(azMean, tf.mul(valueMean, valueWeight)), pg);
    }, true);
    const kept = parts;
    parts = { az: kept.az.dataSync()[0], value: kept.value.dataSync()[0], pg: kept.pg.dataSync()[0] };
    tf.dispose([kept.az, kept.value, kept.pg]);
    return cost.dataSync()[0];
  });
  return { loss: lossValue, ...parts, size: n };
}

function layerOut(layer) {
  return { inputSize: layer.inputSize, outputSize: layer.outputSize, weight: layer.w.dataSync().slice(), bias: layer.b.dataSync().slice() };
}

function exportWeights() {
  return {
    featureCount: model.featureCount,
    actionCount: model.actionCount,
    trunk: model.trunk.map(layerOut),
    policy: layerOut(model.policy),
    value: layerOut(model.value),
  };
}

// Requests are serialized: tfjs state (variables, optimizer slots) is not re-entrant.
let chain = Promise.resolve();
port.on('message', (message) => {
  chain = chain.then(async () => {
    try {
      if (message.type === 'init') port.postMessage({ id: message.id, ok: true, info: await init(message) });
      else if (message.type === 'train') port.postMessage({ id: message.id, ok: true, stats: train(message.batch) });
      else if (message.type === 'export') port.postMessage({ id: message.id, ok: true, weights: exportWeights() });
      else port.postMessage({ id: message.id, ok: false, error: `unknown request ${message.type}` });
    } catch (error) {
      port.postMessage({ id: message.id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  });
});

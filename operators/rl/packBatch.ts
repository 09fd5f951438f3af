import { ACTION_COUNT, FEATURE_COUNT } from '../../domains/countdown/actions.js';
import type { PolicySequence, StateExample } from './trainingExamples.js';

/**
 * One training step's data, packed into flat typed arrays for the worker (transferable, no
 * per-row objects). Rows are states: first the AlphaZero examples, then every step of every
 * policy sequence. `segment` [sequences × size] is 1 where a row belongs to a sequence, so the
 * sequence log-probability is one matmul.
 */
export interface TrainingBatch {
  readonly size: number;
  readonly sequences: number;
  readonly features: Float32Array;
  readonly mask: Float32Array;
  readonly policyTarget: Float32Array;
  /** 1 where the row has a policy target, else 0. */
  readonly policyWeight: Float32Array;
  readonly valueTarget: Float32Array;
  readonly valueWeight: Float32Array;
  /** Action taken (sequence rows); -1 on AlphaZero rows. */
  readonly action: Int32Array;
  readonly segment: Float32Array;
  readonly advantage: Float32Array;
  readonly oldLogp: Float32Array;
}

/** Packs examples and sequences into a {@link TrainingBatch}. */
export function packBatch(examples: readonly StateExample[], sequences: readonly PolicySequence[]): TrainingBatch {
  const steps = sequences.reduce((n, s) => n + s.steps.length, 0);
  const size = examples.length + steps;
  const F = FEATURE_COUNT;
  const A = ACTION_COUNT;
  const batch: TrainingBatch = {
    size,
    sequences: sequences.length,
    features: new Float32Array(size * F),
    mask: new Float32Array(size * A),
    policyTarget: new Float32Array(size * A),
    policyWeight: new Float32Array(size),
    valueTarget: new Float32Array(size),
    valueWeight: new Float32Array(size),
    action: new Int32Array(size).fill(-1),
    segment: new Float32Array(sequences.length * size),
    advantage: new Float32Array(sequences.length),
    oldLogp: new Float32Array(sequences.length),
  };
  let row = 0;
  for (const ex of examples) {
    batch.features.set(ex.features, row * F);
    batch.mask.set(ex.mask, row * A);
    if (ex.policyTarget !== null) {
      batch.policyTarget.set(ex.policyTarget, row * A);
      batch.policyWeight[row] = 1;
    }
    batch.valueTarget[row] = ex.valueTarget;
    batch.valueWeight[row] = 1;
    row++;
  }
  sequences.forEach((seq, s) => {
    batch.advantage[s] = seq.advantage;
    batch.oldLogp[s] = seq.oldLogp;
    for (const step of seq.steps) {
      batch.features.set(step.features, row * F);
      batch.mask.set(step.mask, row * A);
      batch.action[row] = step.action;
      batch.valueTarget[row] = seq.outcome;
      batch.valueWeight[row] = 1;
      batch.segment[s * size + row] = 1;
      row++;
    }
  });
  return batch;
}

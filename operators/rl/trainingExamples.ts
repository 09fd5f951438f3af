/**
 * One state with AlphaZero-style targets: the search's visit distribution over actions (or none)
 * and the verified outcome below the state. Arrays are the Countdown action model's layout
 * (`FEATURE_COUNT` features, `ACTION_COUNT` mask/target entries).
 */
export interface StateExample {
  readonly features: Float32Array;
  readonly mask: Float32Array;
  /** Sums to 1 over legal actions; null when only the value is trained on this state. */
  readonly policyTarget: Float32Array | null;
  /** 1 when the search found a verified-correct answer below this state, else 0. */
  readonly valueTarget: number;
}

/** One step of a sampled completion, replayed into the network's view. */
export interface SequenceStep {
  readonly features: Float32Array;
  readonly mask: Float32Array;
  readonly action: number;
}

/** One sampled completion with its GRPO advantage and the sampling policy's log-probability. */
export interface PolicySequence {
  readonly steps: readonly SequenceStep[];
  readonly advantage: number;
  /** Σ log π_old(a_t | s_t) over the steps, as recorded by the rollout stage. */
  readonly oldLogp: number;
  /** Verified outcome (1 correct, 0 not): a value target for every state of the sequence. */
  readonly outcome: number;
}

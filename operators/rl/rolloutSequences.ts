import { ACTION_COUNT, FEATURE_COUNT, applyAction, encodeState, initialState, isLegalAction, legalMask, type CountdownState } from '../../domains/countdown/actions.js';
import type { RolloutGroup } from '../../schemas/rolloutGroup.js';
import { grpoAdvantages } from './grpoAdvantages.js';
import type { PolicySequence, SequenceStep } from './trainingExamples.js';

/** What one rollout group gave the trainer, with every reason for dropping data counted. */
export interface RolloutSequences {
  readonly sequences: PolicySequence[];
  /** The group's rewards were all equal: no GRPO signal (its states still teach the value head via `outcomes`). */
  readonly skippedEqual: boolean;
  /** Samples without replayable actions or without a sampling log-probability. */
  readonly unreplayable: number;
}

/**
 * Replays each sample's recorded actions from the problem's initial state and attaches its GRPO
 * advantage (group-normalized reward). Groups with equal rewards carry no policy-gradient signal:
 * they are flagged `skippedEqual` and yield no sequences.
 */
export function rolloutSequences(group: RolloutGroup, problemOf: (group: RolloutGroup) => CountdownState | null): RolloutSequences {
  const adv = grpoAdvantages(group.samples.map((s) => s.reward));
  if (adv.skipped) return { sequences: [], skippedEqual: true, unreplayable: 0 };
  const start = problemOf(group);
  const sequences: PolicySequence[] = [];
  let unreplayable = 0;
  group.samples.forEach((sample, k) => {
    const actions = sample.actions;
    if (start === null || actions === undefined || actions.length === 0 || sample.logprob === null) {
      unreplayable++;
      return;
    }
    const steps: SequenceStep[] = [];
    let state = start;
    for (const action of actions) {
      if (!isLegalAction(state, action)) {
        unreplayable++;
        return;
      }
      const features = new Float32Array(FEATURE_COUNT);
      const mask = new Float32Array(ACTION_COUNT);
      encodeState(state, features);
      legalMask(state, mask);
      steps.push({ features, mask, action });
      state = applyAction(state, action).state;
    }
    sequences.push({ steps, advantage: adv.advantages[k] ?? 0, oldLogp: sample.logprob, outcome: sample.correct ? 1 : 0 });
  });
  return { sequences, skippedEqual: false, unreplayable };
}

// The generator's question (the first paragraph of the prompt): "Using the numbers 1, 2, 3, 4, make 24. ...".
const QUESTION_RE = /Using the numbers ([\d,\s]+), make (\d+)\./;

/**
 * The initial Countdown state of a rollout group, read from its prompt (a RolloutGroup carries the
 * prompt text, not the problem record); null when the prompt is not a generated Countdown question.
 */
export function countdownStartOf(group: Pick<RolloutGroup, 'prompt'>): CountdownState | null {
  const m = QUESTION_RE.exec(group.prompt);
  if (m === null) return null;
  const numbers = (m[1] ?? '').split(/[\s,]+/).filter((t) => t !== '').map(Number);
  const target = Number(m[2]);
  try {
    return initialState({ id: 'rollout', domain: 'countdown', source: 'rollout', question: '-', answer: String(target), numbers, target });
  } catch {
    return null;
  }
}

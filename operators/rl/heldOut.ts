import { createHash } from 'node:crypto';
import type { Problem } from '../../schemas/problem.js';

/** Share of the Countdown problem space reserved for evaluation (never trained on). */
export const HELD_OUT_FRACTION = 0.1;

/**
 * True for problems in the evaluation split. The split is by content (sorted numbers and target;
 * the question text for other domains), not by id or seed: 4-number Countdown has few enough
 * distinct problems that 13% of a 500-problem set from one seed reappeared among the first 10,000
 * problems of another; only a content hash keeps the training stream and the held-out set disjoint.
 */
export function isHeldOutProblem(problem: Problem, fraction = HELD_OUT_FRACTION): boolean {
  const key = problem.numbers !== undefined && problem.target !== undefined ? `countdown:${[...problem.numbers].sort((a, b) => a - b).join(',')}>${problem.target}` : `${problem.domain}:${problem.question}`;
  const digest = createHash('sha256').update(key).digest();
  return digest.readUInt32LE(0) / 0x1_0000_0000 < fraction;
}

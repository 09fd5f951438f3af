import { STEP_DELIMITER } from '../mcts/policy.js';
import type { NodeSequence } from './nodeSequence.js';
import { POSITIVE_REFLECTION, backtrackParagraph, finalAnswerLine } from './phrases.js';
import type { TreeIndex } from './treeIndex.js';

/** How to write a node sequence as text. */
export interface RenderOptions {
  /** false for the `direct_ablation` arm: steps and the final answer only. */
  readonly reflections: boolean;
  /** Q an intermediate node needs for a positive reflection after it. */
  readonly reflectionMinQ: number;
  /** At least this many forward steps between two reflections. */
  readonly reflectionEverySteps: number;
  /** The domain's clause for a step, used in `Let's go back to where we <clause>.` */
  readonly describeStep: (step: string) => string;
}

/** A rendered chain of thought and what it contains. */
export interface RenderedTrace {
  readonly completion: string;
  /** Backtrack sentences written (equals the sequence's backtracks when reflections are on). */
  readonly numBacktracks: number;
  /** Reflections of either kind written (each opens with the `But wait, …` sentence). */
  readonly numReflections: number;
}

/**
 * Writes a node sequence as a chain of thought (ASTRO-METHOD §4): each forward step is its step
 * text; a backtrack is the two doubt sentences then `Let's go back to where we …` (or the restart
 * sentence at the root); a positive reflection follows an intermediate node with Q ≥
 * `reflectionMinQ` (at most once every `reflectionEverySteps` forward steps) and always the final
 * step; the last paragraph states `answer` in `\boxed{}`. Paragraphs are joined by the step
 * delimiter.
 */
export function renderTrace(index: TreeIndex, sequence: NodeSequence, answer: string, options: RenderOptions): RenderedTrace {
  const paragraphs: string[] = [];
  let numBacktracks = 0;
  let numReflections = 0;
  // Forward steps since the last reflection of either kind: keeps reflections from crowding.
  let sinceReflection = 0;
  for (const event of sequence.events) {
    if (event.kind === 'backtrack') {
      if (!options.reflections) throw new RangeError('a sequence with backtracks cannot be rendered without reflections');
      paragraphs.push(backtrackParagraph(event.to === 0 ? null : options.describeStep(index.node(event.to).step)));
      numBacktracks += 1;
      numReflections += 1;
      sinceReflection = 0;
      continue;
    }
    const node = index.node(event.node);
    paragraphs.push(node.step);
    sinceReflection += 1;
    if (!options.reflections) continue;
    const isFinal = event.node === sequence.target;
    const isIntermediate = !node.terminal;
    if (isFinal || (isIntermediate && index.q(event.node) >= options.reflectionMinQ && sinceReflection >= options.reflectionEverySteps)) {
      paragraphs.push(POSITIVE_REFLECTION);
      numReflections += 1;
      sinceReflection = 0;
    }
  }
  paragraphs.push(finalAnswerLine(answer));
  return { completion: paragraphs.join(STEP_DELIMITER), numBacktracks, numReflections };
}

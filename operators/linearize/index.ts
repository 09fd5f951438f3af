/** The linearizer (ASTRO-METHOD §3–4): verified search trees → chain-of-thought traces. */
export { linearizeTrees, type LinearizeTreesConfig } from './linearizeTrees.js';
export { linearizeTree, type LinearizeTreeDeps } from './linearizeTree.js';
export { LinearizeConfig, defaultLinearizeConfig, linearizeConfigHash, linearizerId, parseLinearizeConfig } from './linearizeConfig.js';
export {
  FINAL_ANSWER_PREFIX, GO_BACK_PREFIX, POSITIVE_REFLECTION, REFLECTION_CONFIRM, REFLECTION_DOUBT, REFLECTION_OPENING, RESTART_SENTENCE,
  backtrackParagraph, countBacktracks, countPositiveReflections, countReflections, countRestarts, finalAnswerLine, goBackSentence,
} from './phrases.js';
export { lastBoxed, normalizeAnswer } from './lastBoxed.js';
export { collectTerminals, type TerminalSets } from './terminals.js';
export { nodeSequence, type NodeSequence, type SequenceEvent } from './nodeSequence.js';
export { renderTrace, type RenderOptions, type RenderedTrace } from './renderTrace.js';
export { indexTree, type TreeIndex } from './treeIndex.js';
export { chooseTarget, chooseWrongTerminals, terminalAnswer, type WrongChoice } from './chooseTerminals.js';
export { filterBySelfEval, type SelfEvalConfig, type SelfEvalDeps, type SolutionJudge } from './selfEval.js';
export { backtrackRewritePrompt, rewriteCompletion, stepRewritePrompt, type RewriteConfig, type RewriteDeps, type TextRewriter } from './rewrite.js';

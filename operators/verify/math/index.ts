/** Public entry of the math verifier (see `mathVerifier.ts`). */
export { createMathVerifier, DEFAULT_MATH_VERIFIER_CONFIG, goldAnswerOf, MATH_VERIFIER_NAME, MATH_VERIFIER_VERSION, type CasResult, type CasRunner, type MathVerifierConfig, type MathVerifierDeps } from './mathVerifier.js';
export { compareAnswers, DEFAULT_COMPARE_CONFIG, type AnswerText, type CasOracle, type CompareConfig, type CompareDeps, type CompareMethod, type Comparison } from './compare.js';
export { extractAnswer, extractAnswers, type Extraction, type ExtractionMethod } from './extract.js';
export { judgeAnswer, pickAnswer, type Judgement } from './judge.js';
export { normalizeAnswer } from './normalize.js';
export { createCasOracle } from './casOracle.js';
export { casRefusal } from './casGuard.js';

/** Public entry of the math verifier (see `mathVerifier.ts`). */
export { createMathVerifier, goldAnswerOf, MATH_VERIFIER_NAME, MATH_VERIFIER_VERSION } from './mathVerifier.js';
export { compareAnswers, DEFAULT_COMPARE_CONFIG, type CompareConfig, type CompareDeps, type CompareMethod, type Comparison } from './compare.js';
export { extractAnswer, lastBoxed, type Extraction, type ExtractionMethod } from './extract.js';
export { normalizeAnswer } from './normalize.js';
export { createCas, type Cas } from './symbolic.js';

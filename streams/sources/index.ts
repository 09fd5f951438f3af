/** Problem sources: file readers with field mappings, dataset presets and decontamination. */
export { PROBLEM_PRESETS, isProblemPreset, rowToProblem, type ProblemFieldMapping, type ProblemPreset } from './problemMapping.js';
export { readJsonlProblems } from './readJsonlProblems.js';
export { readParquetProblems } from './readParquetProblems.js';
export { createDecontaminator, decontaminate, normalizeProblemText, type Decontaminator, type DecontaminateDeps } from './decontaminate.js';

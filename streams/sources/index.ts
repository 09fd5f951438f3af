/** Problem sources: file readers with field mappings, dataset presets, the admission gate and decontamination. */
export { PROBLEM_PRESETS, isProblemPreset, mappingFor, rowToProblem, type FieldFlags, type ProblemFieldMapping, type ProblemPreset } from './problemMapping.js';
export { readJsonlProblems } from './readJsonlProblems.js';
export { readParquetProblems } from './readParquetProblems.js';
export { assertReadableFile, generatedRows, readJsonlRows, readParquetRows, readSourceRows, type SourceItem, type SourceReadOptions, type SourceRow } from './sourceRows.js';
export { createProblemAdmission, sourceDeadLetter, type Admission, type ProblemAdmission } from './admitProblems.js';
export { jsonSafe } from './jsonSafe.js';
export { createDecontaminator, decontaminate, normalizeProblemText, type Decontaminator, type DecontaminateDeps } from './decontaminate.js';

/**
 * Writes `models/countdown/initial.onnx` from the fixed seed. Run after `npm run build`:
 *
 *     node dist/models/countdown/generateInitialWeights.js
 *
 * The output is reproducible; test/models/countdown/initWeights.spec.ts checks that regenerating
 * gives the committed bytes.
 */
import { writeFileSync } from 'node:fs';
import { sha256Hex } from '../../operators/common/hash.js';
import { initialCountdownModelPath } from '../paths.js';
import { generateInitialCountdownModel } from './initWeights.js';

const bytes = generateInitialCountdownModel();
const path = initialCountdownModelPath();
writeFileSync(path, bytes);
console.log(`wrote ${path} (${bytes.length} bytes, sha256 ${sha256Hex(bytes)})`);

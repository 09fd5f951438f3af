#!/usr/bin/env node
// Runs before `npm test` (npm's pretest hook): builds dist/ (the CLI the end-to-end tests spawn, and
// the dashboard page), installs the Python tools the tests compare against (pyarrow, math-verify),
// those that make the tiny llama.cpp model (gguf, tokenizers, numpy) and the language-model
// trainer's pinned requirements (streams/trainer/lm: torch, transformers, trl, ...), fetches the
// Apache Kafka jars from Maven Central, installs Debian's chromium (the dashboard test drives it
// headless), and builds llama.cpp's llama-server into the user cache (`astro-stream llm build`,
// 8-15 min once per machine, with progress), each only when missing, so a fresh clone needs no
// other step.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

console.log('[setup] building dist/ (tsc, dashboard bundle)');
run('npx', ['tsc', '-p', 'tsconfig.json']);
run(process.execPath, [join(root, 'scripts', 'build-dashboard.mjs')]);

const python = process.env.PYTHON ?? 'python3';
const probe = spawnSync(python, ['-c', 'import pyarrow, math_verify'], { cwd: root });
if (probe.status !== 0) {
  console.log('[setup] installing Python test tools from requirements-test.txt');
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements-test.txt']);
}
const lmProbe = spawnSync(python, ['-c', 'import torch, transformers, sentencepiece, trl, gguf, kafka, matplotlib, safetensors'], { cwd: root });
if (lmProbe.status !== 0) {
  // torch from PyPI is the CUDA build (~5 GB with its libraries); it runs on CPU.
  console.log('[setup] installing the language-model trainer requirements from streams/trainer/lm/requirements.txt');
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'streams/trainer/lm/requirements.txt']);
}

const llmProbe = spawnSync(python, ['-c', 'import gguf, tokenizers, numpy'], { cwd: root });
if (llmProbe.status !== 0) {
  console.log('[setup] installing the tiny-model Python tools from deploy/llama/requirements.txt');
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', join('deploy', 'llama', 'requirements.txt')]);
}

const libs = join(root, '.kafka', 'libs');
const haveKafka = existsSync(libs) && readdirSync(libs).some((f) => /kafka_2\.13-.*\.jar$/.test(f));
if (!haveKafka) {
  console.log('[setup] fetching Apache Kafka jars from Maven Central into .kafka/libs');
  run('mvn', ['-B', '-q', '-f', 'deploy/kafka/pom.xml', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`, '-Dmdep.prependGroupId=true']);
}
// The dashboard test runs playwright-core against this browser; playwright never downloads one.
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log('[setup] installing Debian chromium (apt-get) for the dashboard test');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'inherit', env });
}
// Cached outside the checkout: a no-op after the first build on this machine.
console.log('[setup] llama-server (llama.cpp) for the llama-server integration tests');
run(process.execPath, [join(root, 'bin', 'astro-stream.js'), 'llm', 'build']);
console.log('[setup] test tools ready');

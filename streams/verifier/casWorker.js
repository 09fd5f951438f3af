// Worker-thread entry of CasPool (casPool.ts): compares answer pairs with the compute-engine CAS
// (casTask.ts). The pool terminates this thread when a pair runs past its deadline, so nothing
// here needs to be interruptible. Plain ESM JavaScript like rebuildWorker.js: production runs it
// from dist/ next to the compiled casTask.js; run from the TypeScript sources (tests), it first
// registers module hooks that let it import the .ts files (../replay/tsSourceHooks.js).
//
// message out first: { ready: true }
// message in:  CasRequest { id, gold, pred, config }
// message out: CasReply { id, comparison } | { id, error }
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { parentPort } from 'node:worker_threads';

if (!parentPort) throw new Error('casWorker.js must run as a worker thread');
const port = parentPort;

// compute-engine reports type errors of odd inputs on the console ("Invalid type | tuple<...>"):
// a verdict is the only output a comparison has.
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace']) console[method] = () => undefined;

if (!existsSync(new URL('./casTask.js', import.meta.url))) register('../replay/tsSourceHooks.js', import.meta.url);
const { createCasTask } = await import('./casTask.js');
const run = createCasTask();

port.on('message', (request) => port.postMessage(run(request)));
port.postMessage({ ready: true });

// Worker-thread entry of RebuildPool (rebuildPool.ts): decodes, labels and linearizes batches of
// recorded trees (rebuildBatch.ts) while the replay's main thread keeps consuming. Plain ESM
// JavaScript like parquetEncodeWorker.js: production runs it from dist/ next to the compiled
// rebuildBatch.js; run from the TypeScript sources (tests), it first registers module hooks that
// let it import the .ts files (tsSourceHooks.js).
//
// workerData: RebuildWorkerData
// message in:  RecordBatch { id, bytes, ends } (bytes transferred)
// message out: { id, outcomes: WireOutcome[] } | { id, error: string } (a failure of the worker itself)
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('rebuildWorker.js must run as a worker thread');
const port = parentPort;

if (!existsSync(new URL('./rebuildBatch.js', import.meta.url))) register('./tsSourceHooks.js', import.meta.url);
const { createBatchRebuilder } = await import('./rebuildBatch.js');
const rebuild = createBatchRebuilder(workerData);

// Batches are handled one at a time, in arrival order, so replies come back in order.
let queue = Promise.resolve();
port.on('message', (batch) => {
  queue = queue.then(async () => {
    try {
      port.postMessage({ id: batch.id, outcomes: await rebuild(batch) });
    } catch (error) {
      port.postMessage({ id: batch.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
});

/**
 * Worker thread entry: builds the same engine as the main thread from the run options it was
 * given, then processes entries on request. See pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEntryProcessor } from '../run.js';
import type { WorkerInit } from '../run.js';
import type { PoolJob } from './pool.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

const handle = await createEntryProcessor(workerData as WorkerInit);
port.on('message', (msg: { id: number; job: PoolJob }) => {
  handle(msg.job).then(
    (result) => port.postMessage({ type: 'done', id: msg.id, result }),
    (err: unknown) => port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) }),
  );
});
port.postMessage({ type: 'ready' });

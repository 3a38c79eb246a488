/**
 * Worker thread entry: builds the same engine as the main thread from the run options it was
 * given, then processes entries on request. See pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEntryProcessor } from '../run.js';
import type { WorkerInit } from '../run.js';
import type { PoolJob, PoolResult, WorkerStart } from './pool.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

/** Moved, not copied: an inspection's ends (16 bytes per finding) own their buffer. */
function transferable(result: PoolResult): ArrayBuffer[] {
  const ends = result.inspection?.ends;
  return ends && ends.byteOffset === 0 && ends.byteLength === ends.buffer.byteLength && ends.buffer instanceof ArrayBuffer ? [ends.buffer] : [];
}

const start = workerData as WorkerStart;
const handle = await createEntryProcessor(start.init as WorkerInit);
/** Jobs sent ahead wait here until one of the `perWorker` running jobs finishes (see pool.ts). */
const waiting: Array<{ id: number; job: PoolJob }> = [];
let running = 0;
const runNext = (): void => {
  while (running < start.perWorker && waiting.length > 0) {
    const msg = waiting.shift()!;
    running++;
    handle(msg.job)
      .then(
        (result) => port.postMessage({ type: 'done', id: msg.id, result }, transferable(result)),
        (err: unknown) => port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        running--;
        runNext();
      });
  }
};
port.on('message', (msg: { id: number; job: PoolJob }) => {
  waiting.push(msg);
  runNext();
});

/**
 * Worker thread entry: builds the same engine as the main thread from the run options it was
 * given (in `workerData`, or in a start message when it was started as a spare), then processes
 * entries on request. See pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEntryProcessor } from '../run.js';
import type { WorkerInit } from '../run.js';
import type { PoolJob, PoolResult, ToWorker, WorkerStart } from './pool.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

/** Moved, not copied: an inspection's ends (16 bytes per finding) own their buffer. */
function transferable(result: PoolResult): ArrayBuffer[] {
  const ends = result.inspection?.ends;
  return ends && ends.byteOffset === 0 && ends.byteLength === ends.buffer.byteLength && ends.buffer instanceof ArrayBuffer ? [ends.buffer] : [];
}

/** Set once the engine is built: from `workerData`, or from a spare's start message. */
let handle: ((job: PoolJob) => Promise<PoolResult>) | undefined;
let perWorker = 1;
/** Jobs waiting for the engine, or for one of the `perWorker` running jobs to finish (see pool.ts). */
const waiting: Array<{ id: number; job: PoolJob }> = [];
let running = 0;
const runNext = (): void => {
  while (handle && running < perWorker && waiting.length > 0) {
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
/** Builds the engine; a failure ends the thread, which the pool reports for every job. */
const begin = (start: WorkerStart): void => {
  perWorker = start.perWorker;
  createEntryProcessor(start.init as WorkerInit).then(
    (h) => {
      handle = h;
      runNext();
    },
    (err: unknown) => {
      queueMicrotask(() => {
        throw err;
      });
    },
  );
};
// One listener from the start: jobs the pool posts at once wait in `waiting` until the engine is built.
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'start') begin(msg.start);
  else {
    waiting.push(msg);
    runNext();
  }
});
if (workerData) begin(workerData as WorkerStart);

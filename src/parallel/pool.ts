/**
 * A small worker_threads pool: scanning is CPU-bound and synchronous (RE2), so one thread per
 * core is the only way to use more than one core. Each worker loads the rule set once and then
 * processes whole files (entries) from a queue; results come back as plain records.
 *
 * The main thread keeps everything that needs one owner: listing inputs, redacting names,
 * the manifest, the zip and the progress display.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Entry } from '../source/entry.js';
import type { FileRecord } from '../manifest.js';
import type { PackedData } from '../bundle/deflate.js';
import type { CompactInspection } from '../gate/inspect.js';

/** A job: one top-level entry. */
export interface PoolJob {
  readonly entry: Entry;
  /** The entry's (redacted) name in the manifest. */
  readonly name: string;
  /** Staging folder to write the redacted copy into; undefined = scan only. */
  readonly stagingDir?: string;
  /** `pack`: write staged files as zip entry data deflated at this level (0 = stored); undefined = plain copies. */
  readonly deflateLevel?: number;
  /** `scan` for the gate: also re-read the file for inline markers and end positions (src/gate/inspect.ts). */
  readonly inspect?: boolean;
}

/** A finished job. */
export interface PoolResult {
  readonly records: FileRecord[];
  /** Per-file problems the worker would have logged (messages never hold values). */
  readonly warnings: string[];
  /** With `deflateLevel`: zip header facts of each staged file, by manifest path. */
  readonly packed?: ReadonlyArray<readonly [string, PackedData]>;
  /** With `inspect`: the gate's inspection of the file, when the gate would re-read it. */
  readonly inspection?: CompactInspection;
}

type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly result: PoolResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/**
 * The compiled worker script. Under the test runner this module is TypeScript source, which a
 * worker cannot load, so the built copy in dist/ is used (`npm test` builds first).
 */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/parallel/worker.js', import.meta.url);
}

interface Slot {
  readonly worker: Worker;
  /** Jobs running on this worker now. */
  inflight: number;
  ready: Promise<void>;
}


/** Runs jobs on `size` workers, up to `perWorker` at once on each (their file I/O overlaps); jobs queue when all are busy. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Array<() => void> = [];
  private readonly pending = new Map<number, { resolve: (r: PoolResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private closed = false;

  /**
   * @param size number of worker threads (≥ 1)
   * @param perWorker jobs in flight per worker (≥ 1)
   * @param init data every worker receives once (structured-clone-able run options)
   */
  constructor(
    size: number,
    private readonly perWorker: number,
    init: unknown,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(workerUrl(), { workerData: init });
      const ready = new Promise<void>((resolve, reject) => {
        const onMessage = (m: FromWorker): void => {
          if (m.type === 'ready') {
            worker.off('message', onMessage);
            resolve();
          }
        };
        worker.on('message', onMessage);
        worker.once('error', reject);
      });
      const slot: Slot = { worker, inflight: 0, ready };
      worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
      worker.on('error', (err) => this.failAll(err));
      worker.on('exit', (code) => {
        if (!this.closed && code !== 0) this.failAll(new Error(`scan worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  /** Processes one entry on the first free worker. */
  async run(job: PoolJob): Promise<PoolResult> {
    let slot = this.freeSlot();
    while (!slot) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
      slot = this.freeSlot();
    }
    slot.inflight++;
    try {
      await slot.ready;
      const id = this.nextId++;
      return await new Promise<PoolResult>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, job });
      });
    } finally {
      slot.inflight--;
      this.queue.shift()?.();
    }
  }

  /** The least loaded worker with room for another job. */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.inflight < this.perWorker && (!best || s.inflight < best.inflight)) best = s;
    return best;
  }

  private onMessage(_slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.result);
    else p.reject(new Error(m.message));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Stops every worker (also used on abort: partial output is discarded by the caller). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('scan workers stopped'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

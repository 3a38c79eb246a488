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
  /** Jobs sent to this worker and not yet answered (running or waiting in its queue). */
  inflight: number;
}


/** What a worker thread receives at start: the run's init data and how many jobs it runs at once. */
export interface WorkerStart {
  readonly init: unknown;
  readonly perWorker: number;
}

/** Messages to a worker: its start (a spare gets it when taken; others in `workerData`), then jobs. */
export type ToWorker = { readonly type: 'start'; readonly start: WorkerStart } | { readonly type: 'job'; readonly id: number; readonly job: PoolJob };

/**
 * A worker thread started before the run knows whether it will want one, so that its start-up
 * (~0.25 s: a new isolate loading the engine's modules) overlaps the main thread's own instead of
 * following it; the main thread meanwhile scans alone (measured on the main corpus: the worker's
 * first job began ~0.25 s after the main thread's). It waits for a {@link WorkerStart}
 * message. Unreferenced until taken, so it never keeps the process alive.
 */
export class SpareWorker {
  private readonly worker: Worker;
  private current: 'waiting' | 'taken' | 'closed' | 'dead' = 'waiting';

  /** `waiting` until a pool takes it (`taken`) or it is stopped (`closed`) or has died (`dead`). */
  get state(): 'waiting' | 'taken' | 'closed' | 'dead' {
    return this.current;
  }

  /** Before it is taken, an error or exit only means there is no spare; the pool hears later ones. */
  private readonly died = (): void => {
    if (this.current === 'waiting') this.current = 'dead';
  };

  constructor() {
    this.worker = new Worker(workerUrl());
    this.worker.on('error', this.died);
    this.worker.on('exit', this.died);
    this.worker.unref();
  }

  /** The worker, started with `start`, for a pool; undefined when it died or was taken or closed. */
  take(start: WorkerStart): Worker | undefined {
    if (this.current !== 'waiting') return undefined;
    this.current = 'taken';
    // The pool adds its own listeners in the same turn, before any event can arrive.
    this.worker.off('error', this.died).off('exit', this.died);
    this.worker.ref();
    this.worker.postMessage({ type: 'start', start } satisfies ToWorker);
    return this.worker;
  }

  /** Stops the worker unless a pool took it. */
  async close(): Promise<void> {
    if (this.current !== 'waiting' && this.current !== 'dead') return;
    this.current = 'closed';
    await this.worker.terminate();
  }
}

/**
 * Runs jobs on `size` workers, up to `perWorker` at once on each (their file I/O overlaps).
 * Each worker is also given up to `ahead` more jobs, which wait in its own queue: the main
 * thread scans too, and while it is inside a long synchronous scan it cannot hand out work, so
 * a worker that had only its running jobs would sit idle (measured: ~10% of a worker's time on
 * the main corpus, with the main thread's event loop blocked for up to ~0.6 s at a time).
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Array<() => void> = [];
  private readonly pending = new Map<number, { resolve: (r: PoolResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private closed = false;
  /** Why the pool stopped (a worker failed or exited, or it was closed); new jobs are refused with it. */
  private broken: Error | undefined;

  /**
   * @param size number of worker threads (≥ 1)
   * @param perWorker jobs running at once on each worker (≥ 1)
   * @param init data every worker receives once (structured-clone-able run options)
   * @param ahead jobs each worker holds in its queue beyond those it runs (≥ 0)
   * @param spare a worker already started, used as the first of the `size`
   */
  constructor(
    size: number,
    private readonly perWorker: number,
    init: unknown,
    private readonly ahead = 0,
    spare?: SpareWorker,
  ) {
    const workerData: WorkerStart = { init, perWorker };
    for (let i = 0; i < size; i++) {
      const worker = (i === 0 ? spare?.take(workerData) : undefined) ?? new Worker(workerUrl(), { workerData });
      const slot: Slot = { worker, inflight: 0 };
      worker.on('message', (m: FromWorker) => this.onMessage(m));
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
    if (this.broken) {
      this.queue.shift()?.(); // the next waiter learns it too
      throw this.broken;
    }
    slot.inflight++;
    // Posted at once, not after the worker says it is ready: a worker queues messages until it
    // listens, and the main thread may by then be inside a long synchronous scan (the worker
    // started its first job ~0.3-0.5 s after it was ready, measured on the main corpus).
    try {
      const id = this.nextId++;
      return await new Promise<PoolResult>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ type: 'job', id, job } satisfies ToWorker);
      });
    } finally {
      slot.inflight--;
      this.queue.shift()?.();
    }
  }

  /** Jobs the pool keeps assigned at once: what every worker runs plus what it holds queued. */
  get capacity(): number {
    return this.slots.length * (this.perWorker + this.ahead);
  }

  /** The least loaded worker with room for another job. */
  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (s.inflight < this.perWorker + this.ahead && (!best || s.inflight < best.inflight)) best = s;
    return best;
  }

  private onMessage(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.result);
    else p.reject(new Error(m.message));
  }

  /** Rejects every job sent and, through {@link broken}, every job not yet sent. */
  private failAll(err: Error): void {
    this.broken ??= err;
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

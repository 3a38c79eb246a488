/**
 * Reading an input file's bytes: small files whole with synchronous calls, others as a stream.
 *
 * Every asynchronous `fs` call is a round trip through libuv's thread pool, and a streamed small
 * file takes four or five of them (open, read, read at EOF, close). On 10 000 files of 0.5–4 KB
 * those round trips were ~30 % of `scan`'s CPU (bench/README.md, session 11). Three synchronous
 * calls of a few microseconds block the event loop for one small file at a time only.
 */
import { close, closeSync, constants, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';

/** Files up to this many bytes (as listed) are read with synchronous calls. */
export const SYNC_READ_MAX = 64 * 1024;

/** Largest read of a streamed file, in bytes. */
const READ_CHUNK = 1024 * 1024;

/**
 * Read size for a streamed file: 1 MiB, but no bigger than the file needs. Each read allocates a
 * buffer of this size, and 1 MiB per small file made GC a fifth of the CPU time on 10 k logs.
 */
function readChunk(size: number): number {
  return Math.min(READ_CHUNK, Math.max(16 * 1024, size + 1));
}

/**
 * Opens a file for synchronous reads (this read, and the gate's re-read). O_NONBLOCK: a path
 * replaced by a FIFO since it was listed fails the read (ESPIPE) instead of blocking the thread.
 * @throws the `fs` error.
 */
export function openForSyncRead(file: string): number {
  return openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
}

/**
 * Reads a file with synchronous calls, to its end even if it grew since it was listed (as a
 * stream would), but no further than `limit` bytes, so memory stays bounded when a listed small
 * file was since replaced by a big one.
 * @param size the size it was listed with, in bytes: the first buffer is one byte bigger, so a
 *   file that did not change is read by one call and the next returns 0.
 * @returns the bytes read, and the still open descriptor when the file goes on past `limit`
 *   (the caller owns it); undefined `fd` = the whole file was read and it is closed.
 * @throws the `fs` error (ENOENT, EACCES, EISDIR, ESPIPE for a FIFO, …); nothing is left open.
 */
export function readHeadSync(file: string, size: number, limit: number): { bytes: Buffer; fd?: number } {
  const fd = openForSyncRead(file);
  let open = true;
  try {
    let buf = Buffer.allocUnsafe(Math.min(size + 1, limit));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length >= limit) {
          open = false; // handed to the caller
          return { bytes: buf, fd };
        }
        const bigger = Buffer.allocUnsafe(Math.min(2 * buf.length, limit));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, length);
      if (n === 0) return { bytes: buf.subarray(0, length) };
      length += n;
    }
  } finally {
    if (open) closeSync(fd);
  }
}

/**
 * The bytes of an input file as a stream of Buffers: read now with synchronous calls when it was
 * listed at {@link SYNC_READ_MAX} bytes or less (streamed from the same descriptor past 1 MiB, in
 * case it grew), streamed otherwise.
 * @throws (small files only) the `fs` error, at once; a streamed file emits it as an `error` event.
 */
export function openInput(file: string, size: number): NodeJS.ReadableStream {
  if (size > SYNC_READ_MAX) return createReadStream(file, { highWaterMark: readChunk(size) });
  const { bytes, fd } = readHeadSync(file, size, READ_CHUNK);
  if (fd === undefined) {
    // Not Readable.from([bytes]): its async iteration kept each file's stages alive across
    // scavenges, and `redact` of 10 000 small files ran 43 full GCs instead of 6.
    const whole = new Readable({ read() {} });
    if (bytes.length > 0) whole.push(bytes);
    whole.push(null);
    return whole;
  }
  let rest: ReturnType<typeof createReadStream> | undefined;
  const out = Readable.from(
    (async function* () {
      yield bytes;
      rest = createReadStream('', { fd, start: bytes.length, highWaterMark: READ_CHUNK });
      yield* rest;
    })(),
    { objectMode: false },
  );
  // However the reader stops (even before the first piece), the descriptor is closed: by the
  // rest's stream once it exists, by this handler before.
  out.once('close', () => (rest ? rest.destroy() : close(fd, () => {})));
  return out;
}

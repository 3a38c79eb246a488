/**
 * Reading input files: small ones are read with synchronous calls (source/read.ts). What a user
 * would notice if that went wrong: bytes missing from a file that grew after it was listed, a run
 * that hangs on a FIFO, or a failure that is not reported as the file's own.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openInput, readHeadSync } from '../src/source/read.js';
import { redactToDir } from '../src/run.js';

const SECRET = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';

function dir(): string {
  return mkdtempSync(path.join(tmpdir(), 'aliscrub-read-'));
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Text of `n` bytes that differs at every position (so a misplaced piece shows). */
function text(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + ((i * 7 + (i >> 10)) % 26);
  return b;
}

describe('readHeadSync', () => {
  it('reads a file that did not change in one go and closes it', () => {
    const f = path.join(dir(), 'a.log');
    writeFileSync(f, 'hello\n');
    expect(readHeadSync(f, 6, 1024)).toEqual({ bytes: Buffer.from('hello\n') });
  });

  it('reads to the end a file that grew since it was listed', () => {
    const f = path.join(dir(), 'a.log');
    writeFileSync(f, text(5000));
    expect(readHeadSync(f, 10, 1 << 20).bytes).toEqual(text(5000));
  });

  it('stops at the limit and hands over the open descriptor', () => {
    const f = path.join(dir(), 'a.log');
    writeFileSync(f, text(5000));
    const { bytes, fd } = readHeadSync(f, 10, 1024);
    expect(bytes).toEqual(text(1024));
    expect(fd).toBeTypeOf('number');
    closeSync(fd!);
  });

  it('throws the fs error at once for a missing file, a folder and a FIFO (no hang)', (ctx) => {
    const d = dir();
    expect(() => readHeadSync(path.join(d, 'missing.log'), 10, 1024)).toThrow(/ENOENT/);
    mkdirSync(path.join(d, 'sub'));
    expect(() => readHeadSync(path.join(d, 'sub'), 10, 1024)).toThrow(/EISDIR/);
    if (process.platform === 'win32') ctx.skip();
    execFileSync('mkfifo', [path.join(d, 'pipe')]);
    expect(() => readHeadSync(path.join(d, 'pipe'), 10, 1024)).toThrow(/ESPIPE|EAGAIN/);
  }, 5000);
});

describe('openInput', () => {
  it('gives the bytes of a small file, an empty one, and one that grew past 1 MiB', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'small.log'), text(3000));
    writeFileSync(path.join(d, 'empty.log'), '');
    writeFileSync(path.join(d, 'grew.log'), text(3 << 20));
    expect(await bytesOf(openInput(path.join(d, 'small.log'), 3000))).toEqual(text(3000));
    expect(await bytesOf(openInput(path.join(d, 'empty.log'), 0))).toEqual(Buffer.alloc(0));
    // (Buffer.equals: toEqual walks 3 MiB element by element.)
    expect((await bytesOf(openInput(path.join(d, 'grew.log'), 100))).equals(text(3 << 20))).toBe(true);
    expect((await bytesOf(openInput(path.join(d, 'grew.log'), 3 << 20))).equals(text(3 << 20))).toBe(true); // streamed
  });

  it('closes the descriptor of a grown file when the reader stops early', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip();
    const f = path.join(dir(), 'grew.log');
    writeFileSync(f, text(3 << 20));
    /** Descriptors of this process open on `f`. */
    const open = (): number =>
      readdirSync('/proc/self/fd').filter((n) => {
        try {
          return readlinkSync(`/proc/self/fd/${n}`) === f;
        } catch {
          return false;
        }
      }).length;
    for await (const piece of openInput(f, 100)) {
      expect((piece as Buffer).length).toBe(1 << 20);
      expect(open()).toBe(1);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(open()).toBe(0);
    // ... and when it is dropped before reading anything (a failing pipeline destroys its source).
    const unread = openInput(f, 100) as unknown as { destroy(): void };
    expect(open()).toBe(1);
    unread.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(open()).toBe(0);
  });

  it('a file listed small and replaced by a big one is scanned to its end', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'app.log'), 'small\n');
    const out = path.join(dir(), 'out');
    // A secret 2 MiB in, past the part read with synchronous calls.
    const big = Buffer.concat([text(2 << 20), Buffer.from(`\nkey ${SECRET}\n`), text(1000)]);
    const res = await redactToDir({ inputs: ['.'], cwd: d, onCollected: () => writeFileSync(path.join(d, 'app.log'), big) }, out);
    expect(res.manifest.files.find((f) => f.path === 'app.log')).toMatchObject({ status: 'redacted' });
    const written = readFileSync(path.join(out, 'evidence', 'app.log'));
    expect(written.includes(SECRET)).toBe(false);
    expect(written.subarray(0, 2 << 20).equals(text(2 << 20))).toBe(true);
    expect(written.subarray(written.length - 1000).equals(text(1000))).toBe(true);
  });
});

// Measures one child process: wall time, user+sys CPU time (all threads, waited-for children
// included) and peak RSS.
//
// Preferred: GNU time (`/usr/bin/time -f '%e %U %S %M' -o FILE`). Without it (or with a time that
// lacks -f/-o, e.g. busybox) the fallback polls /proc/<pid>/status for VmHWM and takes CPU time
// from this process's cutime/cstime in /proc/self/stat, which the kernel adds once the child is
// reaped; outside Linux both are reported as unknown.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';
let gnuTimeOk;

/** True when /usr/bin/time understands `-f FORMAT -o FILE` (GNU time). */
export function haveGnuTime() {
  if (gnuTimeOk !== undefined) return gnuTimeOk;
  gnuTimeOk = false;
  if (process.env.BENCH_NO_GNU_TIME === '1' || !fs.existsSync(GNU_TIME)) return gnuTimeOk;
  const tmp = path.join(os.tmpdir(), `bench-time-probe-${process.pid}`);
  try {
    const r = spawnSync(GNU_TIME, ['-f', '%e %U %S %M', '-o', tmp, process.execPath, '-e', '0'], { stdio: 'ignore' });
    gnuTimeOk = r.status === 0 && parseTimeFile(tmp) !== null;
  } catch {
    gnuTimeOk = false;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return gnuTimeOk;
}

/** Parses the last line of a GNU time -o file ("Command exited with non-zero status N" may precede it). */
function parseTimeFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(last.trim());
  if (!m) return null;
  return { elapsed: Number(m[1]), user: Number(m[2]), sys: Number(m[3]), maxRssKB: Number(m[4]) };
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks on every common build.

function childTicks() {
  try {
    const s = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(3) ... utime(14) stime(15) cutime(16) cstime(17); f[0] is field 3.
    return Number(f[13]) + Number(f[14]);
  } catch {
    return null;
  }
}

function vmHwmKB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Runs `cmd args` and measures it. stdout and stderr go to files (so large outputs cost the same
 * for every tool and never fill a pipe). The child runs in its own process group; on timeout the
 * whole group (time, the command and anything it started) is killed.
 *
 * @returns {Promise<{wall:number,user:number|null,sys:number|null,cpu:number|null,maxRssKB:number|null,code:number|null,signal:string|null,timedOut:boolean,via:string}>}
 */
export function measure({ cmd, args, cwd, env, stdoutFile, stderrFile, timeoutSec }) {
  const useTime = haveGnuTime();
  const timeFile = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const out = fs.openSync(stdoutFile ?? '/dev/null', 'w');
  const err = fs.openSync(stderrFile ?? '/dev/null', 'w');
  const argv = useTime ? ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args] : args;
  const ticks0 = useTime ? null : childTicks();
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let child;
    try {
      child = spawn(useTime ? GNU_TIME : cmd, argv, { cwd, env: env ?? process.env, stdio: ['ignore', out, err], detached: true });
    } catch (e) {
      fs.closeSync(out);
      fs.closeSync(err);
      resolve({ wall: 0, user: null, sys: null, cpu: null, maxRssKB: null, code: null, signal: null, timedOut: false, via: 'none', spawnError: String(e) });
      return;
    }
    let timedOut = false;
    let peak = null;
    const poll = useTime
      ? null
      : setInterval(() => {
          const v = vmHwmKB(child.pid);
          if (v !== null) peak = Math.max(peak ?? 0, v);
        }, 50);
    const timer =
      timeoutSec && timeoutSec > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }, timeoutSec * 1000)
        : null;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      fs.closeSync(out);
      fs.closeSync(err);
      resolve({ wall: 0, user: null, sys: null, cpu: null, maxRssKB: null, code: null, signal: null, timedOut: false, via: 'none', spawnError: String(e) });
    });
    child.on('exit', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      fs.closeSync(out);
      fs.closeSync(err);
      let user = null;
      let sys = null;
      let maxRssKB = null;
      let via = 'fallback';
      if (useTime) {
        via = 'gnu-time';
        const t = parseTimeFile(timeFile);
        fs.rmSync(timeFile, { force: true });
        if (t) {
          user = t.user;
          sys = t.sys;
          maxRssKB = t.maxRssKB;
        }
      } else {
        const ticks1 = childTicks();
        if (ticks0 !== null && ticks1 !== null) {
          // user and sys are not told apart here; report the sum as user.
          user = (ticks1 - ticks0) / CLK_TCK;
          sys = 0;
        }
        maxRssKB = peak;
      }
      resolve({
        wall,
        user,
        sys,
        cpu: user !== null && sys !== null ? user + sys : null,
        maxRssKB,
        code: timedOut ? null : code,
        signal: timedOut ? 'timeout' : signal,
        timedOut,
        via,
      });
    });
  });
}

/** Last `n` lines of a text file (for error messages and summaries); reads at most the last 64 KB. */
export function tail(file, n = 5) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 65536);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Counts newline bytes in a file without loading it whole. */
export function countLines(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      let i = -1;
      const view = got === buf.length ? buf : buf.subarray(0, got);
      while ((i = view.indexOf(10, i + 1)) !== -1) n++;
    }
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

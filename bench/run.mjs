#!/usr/bin/env node
// aliscrub benchmark runner (`npm run bench [-- options]`). Plain Node ESM, built-ins only.
// See bench/README.md for the method and for how to read the output.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLargeFile, ensureMainCorpus, ensureSmallFiles, ensureStartupFile, fmtSizeTag, parseSize } from './lib/corpus.mjs';
import { countLines, haveGnuTime, measure, tail } from './lib/measure.mjs';
import { re2ToRg } from './lib/rgsyntax.mjs';
import { compareResults, fmtBytes, fmtCount, fmtRatio, markdownTable, secs, sig, table } from './lib/report.mjs';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = path.join(ROOT, 'bin', 'aliscrub.js');
// The CLI actually run: a snapshot of bin/ dist/ patterns/ schema/ taken at start (see snapshotProduct).
let RUN_BIN = BIN;
const TOOLS = ['scan', 'redact', 'pack', 'rg', 'zip'];
const WORKLOADS = ['startup', 'main', 'small', 'large', 'scaling'];
const ZIP_LEVEL = 6; // aliscrub's bundle uses deflate level 6 (zlib default); zip -r -6 is the reference

const HELP = `usage: npm run bench [-- options]

  --size SIZE          main corpus size: 100MB (default), 1GB, 5GB (any size is accepted)
  --large-size SIZE    single large file (default 256MB; 5GB for the full peak-RSS test)
  --small-files N      number of small files (default 10000; up to 100000)
  --runs N             measured runs per case after 1 warm-up (default 3; median reported)
  --startup-runs N     runs for the start-up case (default 10)
  --only LIST          comma list of workloads (startup, main, small, large, scaling) and/or
                       tools (scan, redact, pack, rg, zip); e.g. --only scan,rg or --only large
  --compare            print per-metric deltas against bench/baseline.json (>15% worse is marked)
  --save-baseline      write this run to bench/baseline.json
  --json               print the results as JSON on stdout (tables go to stderr)
  --budget SECONDS     stop starting new runs after this long (default 600; 0 = no limit).
                       Cases that would not fit are listed as skipped; use 0 with --size 1GB/5GB
  --slow SECONDS       a case whose warm-up takes longer is run once, the warm-up counted
                       (default 15; the page cache is already warm from the reference tools)
  --timeout SECONDS    kill a single run after this long (default: none, but never past --budget)
  --seed N             corpus seed (default 1)
  --corpus-dir DIR     where corpora are generated (default bench/corpus, git-ignored)
  --patterns PATH      pass --patterns PATH to aliscrub (repeatable; default: built-in detectors)
  --build / --no-build always / never run \`npm run build\` first (default: when dist/ is missing or older than src/)
  --generate-only      generate the selected corpora and exit
  --rg-unicode         give rg the exported patterns unchanged (its \\b \\d \\w \\s are then
                       Unicode-aware); default: spell them out as RE2's ASCII meaning
  --no-snapshot        run the working tree's bin/aliscrub.js instead of a copy taken at start
  --keep-output        keep bench/out/ (redacted copies, bundles, tool output) afterwards
  --markdown           also print the tables as Markdown (for bench/README.md)
`;

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '100MB' },
      'large-size': { type: 'string', default: '256MB' },
      'small-files': { type: 'string', default: '10000' },
      runs: { type: 'string', default: '3' },
      'startup-runs': { type: 'string', default: '10' },
      only: { type: 'string' },
      compare: { type: 'boolean', default: false },
      'save-baseline': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      budget: { type: 'string', default: '600' },
      slow: { type: 'string', default: '15' },
      timeout: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      'corpus-dir': { type: 'string' },
      patterns: { type: 'string', multiple: true },
      build: { type: 'boolean' },
      'no-build': { type: 'boolean' },
      'generate-only': { type: 'boolean', default: false },
      'keep-output': { type: 'boolean', default: false },
      'rg-unicode': { type: 'boolean', default: false },
      'no-snapshot': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const num = (name) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number of seconds`);
    return n;
  };
  const only = (values.only ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of only) if (!TOOLS.includes(k) && !WORKLOADS.includes(k)) throw new Error(`--only: unknown '${k}' (known: ${[...WORKLOADS, ...TOOLS].join(', ')})`);
  const onlyTools = only.filter((k) => TOOLS.includes(k));
  const onlyWl = only.filter((k) => WORKLOADS.includes(k));
  return {
    size: parseSize(values.size),
    largeSize: parseSize(values['large-size']),
    smallFiles: int('small-files', 1, 1_000_000),
    runs: int('runs', 1, 100),
    startupRuns: int('startup-runs', 1, 1000),
    tools: new Set(onlyTools.length ? onlyTools : TOOLS),
    // Tool names alone select the main corpus; workload names select those workloads.
    workloads: new Set(onlyWl.length ? onlyWl : onlyTools.length ? ['main'] : WORKLOADS),
    compare: values.compare,
    saveBaseline: values['save-baseline'],
    json: values.json,
    budget: num('budget'),
    slow: num('slow'),
    timeout: num('timeout'),
    seed: int('seed', 0, 2 ** 32 - 1),
    corpusDir: path.resolve(values['corpus-dir'] ?? path.join(ROOT, 'bench', 'corpus')),
    outDir: path.join(ROOT, 'bench', 'out'),
    patterns: values.patterns?.map((p) => path.resolve(p)) ?? [],
    build: values['no-build'] ? 'never' : values.build ? 'always' : 'auto',
    generateOnly: values['generate-only'],
    keepOutput: values['keep-output'],
    rgUnicode: values['rg-unicode'],
    snapshot: !values['no-snapshot'],
    markdown: values.markdown,
    baselinePath: path.resolve(values.baseline ?? path.join(ROOT, 'bench', 'baseline.json')),
    argv,
  };
}

// ---------------------------------------------------------------------------------------------
// Output helpers: with --json, stdout carries only the JSON document.

let OUT = (s) => process.stdout.write(s);
const LOG = (s) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------
// Environment

function firstLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error || r.status !== 0) return null;
    return (r.stdout || r.stderr).split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return null;
  }
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function machine() {
  const rg = which('rg') ? firstLine('rg', ['--version']) : null;
  const zip = which('zip') ? firstLine('zip', ['-v']) : null;
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rg: rg ? rg[0] : null,
    zip: zip ? (zip.find((l) => /^This is Zip/.test(l)) ?? zip[0]).replace(/^This is /, '').replace(/, by Info-ZIP\.?$/, '') : null,
    gnuTime: haveGnuTime(),
    taskset: Boolean(which('taskset')),
    aliscrub: pkg.version,
  };
}

function newestMtime(dir) {
  let newest = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  }
  return newest;
}

function ensureBuilt(mode) {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const have = fs.existsSync(cli);
  if (mode === 'never') {
    if (!have) throw new Error('dist/ is missing: run `npm run build` (or drop --no-build)');
    return 'skipped (--no-build)';
  }
  const stale = !have || newestMtime(path.join(ROOT, 'src')) > fs.statSync(cli).mtimeMs;
  if (mode === 'auto' && !stale) return 'dist/ up to date';
  LOG(`building: npm run build (${have ? (mode === 'always' ? '--build' : 'dist/ older than src/') : 'dist/ missing'})`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('`npm run build` failed');
  return 'built';
}

/**
 * Copies the runnable product (bin/ dist/ patterns/ schema/ package.json; node_modules linked)
 * so that edits and rebuilds in the working tree during a long run do not change what is
 * measured half-way through.
 */
function snapshotProduct(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const d of ['bin', 'dist', 'patterns', 'schema']) if (fs.existsSync(path.join(ROOT, d))) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return path.join(dir, 'bin', 'aliscrub.js');
}

const aliscrubArgs = (opts) => opts.patterns.flatMap((p) => ['--patterns', p]);

/** Exports the detector regexes and works out which of them rg accepts. */
function prepareRegexes(opts, tmpDir, rgPresent) {
  const ex = spawnSync(process.execPath, [RUN_BIN, 'detectors', '--export-regex', ...aliscrubArgs(opts)], { cwd: ROOT, encoding: 'utf8' });
  if (ex.status !== 0) throw new Error(`aliscrub detectors --export-regex exited ${ex.status}: ${(ex.stderr || '').trim()}`);
  const patterns = ex.stdout.split('\n').filter((l) => l.length > 0);
  const js = spawnSync(process.execPath, [RUN_BIN, 'detectors', '--json', ...aliscrubArgs(opts)], { cwd: ROOT, encoding: 'utf8' });
  let ids = [];
  try {
    ids = JSON.parse(js.stdout).map((d) => d.id);
  } catch {
    /* ids are only labels */
  }
  const all = path.join(tmpDir, 'patterns-all.txt');
  fs.writeFileSync(all, patterns.join('\n') + '\n');
  const info = {
    detectors: patterns.length,
    rulesetSha: createHash('sha256').update(ex.stdout).digest('hex').slice(0, 12),
    exportedFile: all,
    rejected: [],
    rgFile: null,
    rgFlags: [],
    rgError: null,
    rgUnicode: Boolean(opts.rgUnicode),
    rgPatterns: 0,
  };
  if (!rgPresent) return info;
  // RE2 semantics: \b \d \w \s are ASCII-only; rg's are Unicode-aware. Unless --rg-unicode,
  // each pattern is translated to the same ASCII meaning (lib/rgsyntax.mjs).
  const translate = opts.rgUnicode ? (p) => p : re2ToRg;
  info.rgFlags = [];
  const accepted = [];
  const check = (p, i) => {
    const f = path.join(tmpDir, `p${i}.txt`);
    fs.writeFileSync(f, p + '\n');
    const r = spawnSync('rg', ['--no-config', '-o', '-f', f, '-'], { input: '', encoding: 'utf8' });
    fs.rmSync(f, { force: true });
    if (r.status !== 2 && !r.error) return null;
    // Either one line ("the literal '\n' is not allowed…") or "regex parse error:", the pattern,
    // a caret line and "error: <reason>".
    const lines = (r.stderr || String(r.error)).trim().split('\n');
    return (lines.find((l) => /^error:/.test(l.trim())) ?? lines[0]).trim().replace(/^error: /, '');
  };
  patterns.forEach((p, i) => {
    const q = translate(p);
    const why = check(q, i);
    if (why) info.rejected.push({ index: i + 1, id: ids[i] ?? `#${i + 1}`, message: why });
    else accepted.push(q);
  });
  info.rgFile = path.join(tmpDir, 'patterns-rg.txt');
  fs.writeFileSync(info.rgFile, accepted.join('\n') + '\n');
  info.rgPatterns = accepted.length;
  const tryAll = (flags) => spawnSync('rg', ['--no-config', ...flags, '-o', '-f', info.rgFile, '-'], { input: '', encoding: 'utf8' });
  let r = tryAll(info.rgFlags);
  if (r.status === 2 && /size limit/i.test(r.stderr)) {
    info.rgFlags = ['--regex-size-limit', '1G', '--dfa-size-limit', '1G'];
    r = tryAll(info.rgFlags);
  }
  if (r.status === 2) {
    info.rgError = (r.stderr || '').trim().split('\n')[0];
    info.rgFile = null;
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Cases

const rel = (p) => path.relative(ROOT, p) || '.';
const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

function oursCase(id, cmdKey, label, sub, input, extra, opts, meta) {
  const base = [RUN_BIN, sub, input, ...extra, ...aliscrubArgs(opts)];
  return {
    id,
    tool: cmdKey,
    side: 'ours',
    label,
    cmd: meta.taskset ? 'taskset' : process.execPath,
    args: meta.taskset ? ['-c', '0', process.execPath, ...base] : base,
    cwd: ROOT,
    ...meta,
  };
}

function buildCases(wl, input, corpus, ctx) {
  const { opts, rx } = ctx;
  const out = (name) => path.join(opts.outDir, `${wl}-${name}`);
  const isDir = fs.statSync(input).isDirectory();
  const meta = { bytes: corpus.bytes, files: corpus.files, planted: corpus.plantedSecrets };
  const cases = [];
  const rgBase = rx.rgFile ? ['--no-config', ...rx.rgFlags, '--no-ignore', '--hidden', '-o', '-f', rx.rgFile] : null;
  const add = (c) => cases.push({ workload: wl, ...meta, ...c });
  const refs = ctx.tools.rg && rgBase;
  // Order matters only for the warm-up round: a reference tool reads the corpus first.
  if (refs) add({ id: 'rg', tool: 'rg', side: 'ref', label: 'rg -o -f PAT', cmd: 'rg', args: [...rgBase, input], cwd: ROOT, stdout: out('rg.txt') });
  if (ctx.tools.scan) add(oursCase('scan', 'scan', 'aliscrub scan', 'scan', input, [], opts, { stdout: out('scan.txt') }));
  if (refs && isDir && corpus.files > 1) add({ id: 'rg-j1', tool: 'rg', side: 'ref', label: 'rg -o -f PAT -j1', cmd: 'rg', args: [...rgBase, '-j1', input], cwd: ROOT, stdout: out('rg-j1.txt') });
  if (ctx.tools.redact)
    add(oursCase('redact', 'redact', 'aliscrub redact', 'redact', input, ['--out-dir', out('redacted'), '--force'], opts, { stdout: out('redact.txt'), clean: [out('redacted')] }));
  if (ctx.tools.zip && ctx.zip)
    add({
      id: 'zip',
      tool: 'zip',
      side: 'ref',
      label: `zip -r -${ZIP_LEVEL}`,
      cmd: 'zip',
      args: ['-r', `-${ZIP_LEVEL}`, '-q', out('zip.zip'), path.basename(input)],
      cwd: path.dirname(input),
      stdout: out('zip.txt'),
      clean: [out('zip.zip')],
    });
  if (ctx.tools.pack)
    add(oursCase('pack', 'pack', 'aliscrub pack', 'pack', input, ['--out', out('bundle.zip'), '--force'], opts, { stdout: out('pack.txt'), clean: [out('bundle.zip')] }));
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Running a group of cases: 1 warm-up round, then N interleaved rounds (rotated order).

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function expectedCode(c, code) {
  if (c.tool === 'scan' || c.tool === 'rg') return code === 0 || code === 1;
  if (c.tool === 'redact' || c.tool === 'pack') return code === 0 || code === 1; // 1 = some inputs left out (noted)
  return code === 0;
}

// Crude cost model, only used to decide whether a case still fits in --budget: a fixed start-up
// cost plus either a per-file cost (many small files) or a per-byte cost (bulk data).
function estimate(c, ctx) {
  if (c.runs.length) return c.runs[c.runs.length - 1].wall;
  const rate = ctx.rates[c.rateKey ?? c.tool];
  if (!rate) return null;
  const perFile = c.files >= 1000 && rate.perFile !== undefined;
  return rate.overhead + (perFile ? c.files * rate.perFile : c.bytes * (rate.perByte ?? rate.perFile * (c.files / Math.max(c.bytes, 1))));
}

function learn(c, r, ctx) {
  if (c.timedOut || r.code === null) return;
  if (c.bytes < 1e6 && c.files < 1000) return; // start-up-sized inputs say nothing about rates
  const key = c.rateKey ?? c.tool;
  const overhead = c.side === 'ours' ? (ctx.startupSec ?? 1) : 0.01;
  const work = Math.max(r.wall - overhead, 0.001);
  const prev = ctx.rates[key] ?? {};
  ctx.rates[key] = c.files >= 1000 ? { ...prev, overhead, perFile: work / c.files } : { ...prev, overhead, perByte: work / Math.max(c.bytes, 1) };
}

async function runOnce(c, ctx, phase) {
  const remaining = ctx.deadline - Date.now() / 1000;
  if (remaining <= 1) return { skipped: `budget used up (${ctx.opts.budget} s; --budget 0 for no limit)` };
  const worse = ctx.timedOutTools[c.rateKey ?? c.tool];
  if (!c.runs.length && worse !== undefined && c.bytes >= worse) return { skipped: `${c.tool} was killed early on a smaller input` };
  const est = c.side === 'ref' ? null : estimate(c, ctx); // reference tools are cheap: only the hard limit stops them
  if (est === null && c.side === 'ours' && !c.runs.length && ctx.opts.budget > 0 && remaining < 2 * ctx.opts.slow)
    return { skipped: `only ${Math.round(remaining)} s left of --budget ${ctx.opts.budget}` };
  if (est !== null && est > remaining) return { skipped: `would take ~${Math.round(est)} s, ${Math.round(remaining)} s left of --budget ${ctx.opts.budget}` };
  for (const p of c.clean ?? []) fs.rmSync(p, { recursive: true, force: true });
  const limit = Math.min(ctx.opts.timeout > 0 ? ctx.opts.timeout : Infinity, ctx.opts.budget > 0 ? remaining : Infinity);
  LOG(`  ${phase.padEnd(7)} ${c.workload}/${c.id} ...`);
  const r = await measure({
    cmd: c.cmd,
    args: c.args,
    cwd: c.cwd,
    stdoutFile: c.stdout,
    stderrFile: `${c.stdout}.err`,
    timeoutSec: Number.isFinite(limit) ? limit : 0,
  });
  LOG(`          ${secs(r.wall)} s wall, ${secs(r.cpu)} s CPU, ${r.maxRssKB ? Math.round(r.maxRssKB / 1024) : 'n/a'} MB, exit ${r.timedOut ? 'timeout' : (r.code ?? r.signal)}`);
  return r;
}

/**
 * @param paired every case runs every round, even a slow one (--slow): their ratios are taken
 *   round by round (see pairedRatios).
 */
async function runGroup(name, cases, ctx, runs, paired = false) {
  if (!cases.length) return;
  LOG(`\n[${name}] ${cases.map((c) => c.id).join(', ')}: 1 warm-up + ${runs} run(s), interleaved`);
  for (const c of cases) {
    c.stdout ??= path.join(ctx.opts.outDir, `${c.workload}-${c.id}.out`);
    c.runs = [];
    c.notes = [];
    c.active = true;
  }
  for (let round = 0; round <= runs; round++) {
    const k = round === 0 ? 0 : (round - 1) % cases.length;
    const order = [...cases.slice(k), ...cases.slice(0, k)];
    for (const c of order) {
      if (!c.active) continue;
      // Reference runs exist for the ratios: once no aliscrub case of this group can run, stop.
      const ours = cases.filter((x) => x.side === 'ours');
      if (c.side === 'ref' && c.workload !== 'startup' && ours.length && ours.every((x) => !x.active && !x.runs.length)) {
        c.active = false;
        c.notes.push(`${c.runs.length ? `stopped after ${c.runs.length} run(s)` : 'skipped'}: no aliscrub case of this workload could run`);
        if (!c.runs.length) c.skipped = true;
        continue;
      }
      const r = await runOnce(c, ctx, round === 0 ? 'warm-up' : `run ${round}`);
      if (r.skipped) {
        c.active = false;
        c.notes.push(`${c.runs.length ? 'stopped after ' + c.runs.length + ' run(s)' : 'skipped'}: ${r.skipped}`);
        if (!c.runs.length) c.skipped = true;
        continue;
      }
      if (r.spawnError || r.timedOut || !expectedCode(c, r.code)) {
        c.active = false;
        if (r.timedOut) {
          c.timedOut = true;
          const key = c.rateKey ?? c.tool;
          ctx.timedOutTools[key] = Math.min(ctx.timedOutTools[key] ?? Infinity, c.bytes);
          c.runs = [r];
          c.notes.push(`killed after ${secs(r.wall)} s (--timeout/--budget): figures are bounds`);
        } else {
          c.failed = true;
          c.runs = [r];
          c.error = r.spawnError ?? `exit ${r.code ?? r.signal}: ${tail(`${c.stdout}.err`, 3) || tail(c.stdout, 3)}`;
          c.notes.push(`FAILED: ${c.error}`);
        }
        continue;
      }
      if (round === 0) {
        learn(c, r, ctx);
        if (r.wall > ctx.opts.slow && runs > 0 && !paired) {
          // Long runs: the warm-up is the measurement (page cache already warm).
          c.runs.push(r);
          c.active = false;
          c.notes.push(`1 run: warm-up took > ${ctx.opts.slow} s (--slow), counted`);
        }
        continue;
      }
      c.runs.push(r);
      learn(c, r, ctx);
    }
  }
  for (const c of cases) finishCase(c);
}

function findingsOf(c) {
  if (!c.stdout || c.skipped) return null;
  if (c.tool === 'rg') {
    const n = countLines(c.stdout);
    return n === null ? null : { total: n };
  }
  if (c.side === 'ours') {
    const t = tail(c.stdout, 12);
    const m = /findings: (\d+) \(secret (\d+), pii (\d+), identifier (\d+)\)/.exec(t);
    if (m) return { total: Number(m[1]), secret: Number(m[2]), pii: Number(m[3]), identifier: Number(m[4]) };
    const left = /(\d+) left out/.exec(t);
    return left ? { leftOut: Number(left[1]) } : null;
  }
  return null;
}

function finishCase(c) {
  const n = c.runs.length;
  let status = c.skipped ? 'skipped' : c.failed ? 'error' : c.timedOut ? 'timeout' : n ? 'ok' : 'skipped';
  const wall = median(c.runs.map((r) => r.wall));
  const cpu = median(c.runs.map((r) => r.cpu));
  const rss = c.runs.some((r) => r.maxRssKB !== null) ? Math.max(...c.runs.map((r) => r.maxRssKB ?? 0)) / 1024 : null;
  const walls = c.runs.map((r) => r.wall);
  const spread = n > 1 && wall ? (Math.max(...walls) - Math.min(...walls)) / wall : null;
  const ok = status === 'ok' || status === 'timeout';
  c.summary = {
    status,
    n,
    wall: ok ? wall : null,
    cpu: ok ? cpu : null,
    rssMB: ok && rss !== null ? Number(rss.toFixed(1)) : null,
    mbps: ok && wall ? c.bytes / 1e6 / wall : null,
    cpuMbps: ok && cpu ? c.bytes / 1e6 / cpu : null,
    filesps: ok && wall ? c.files / wall : null,
    spread: spread !== null ? Number(spread.toFixed(3)) : null,
    bound: status === 'timeout' ? 'upper' : null, // throughput is at most this
    exit: c.runs.length ? (c.runs[c.runs.length - 1].code ?? c.runs[c.runs.length - 1].signal) : null,
    findings: status === 'ok' ? findingsOf(c) : null,
  };
  if (spread !== null && spread > 0.25) c.notes.push(`spread ${(spread * 100).toFixed(0)}% between runs`);
  if (status === 'ok' && (c.tool === 'redact' || c.tool === 'pack') && c.summary.exit === 1) c.notes.push('exit 1: some inputs left out');
}

// ---------------------------------------------------------------------------------------------
// Ratios and targets

function ratio(ours, ref, by = 'wall') {
  if (!ours || !ref) return null;
  const a = ours.summary;
  const b = ref.summary;
  if (!a || !b || !['ok', 'timeout'].includes(a.status) || b.status !== 'ok') return null;
  const x = by === 'wall' ? a.wall : a.cpu;
  const y = by === 'wall' ? b.wall : b.cpu;
  if (!x || !y) return null;
  // ours/ref throughput on the same input = ref time / our time.
  return { value: y / x, bound: a.status === 'timeout' ? 'upper' : null };
}

function computeRatios(cases) {
  const g = (k) => cases[k];
  const R = {};
  const put = (name, r, desc) => {
    if (r) R[name] = { ...r, desc };
  };
  for (const wl of ['main', 'small', 'large']) {
    for (const t of ['scan', 'redact']) {
      put(`${wl} ${t}/rg`, ratio(g(`${wl}/${t}`), g(`${wl}/rg`)), `${t} throughput / rg -o (default threads), wall`);
      put(`${wl} ${t}/rg-j1`, ratio(g(`${wl}/${t}`), g(`${wl}/rg-j1`)), `${t} throughput / rg -o -j1, wall`);
      put(`${wl} ${t}/rg cpu`, ratio(g(`${wl}/${t}`), g(`${wl}/rg`), 'cpu'), `${t} / rg -o, CPU time`);
    }
    put(`${wl} pack/zip`, ratio(g(`${wl}/pack`), g(`${wl}/zip`)), `pack throughput / zip -r -${ZIP_LEVEL}, wall`);
    put(`${wl} pack/zip cpu`, ratio(g(`${wl}/pack`), g(`${wl}/zip`), 'cpu'), `pack / zip -r -${ZIP_LEVEL}, CPU time`);
  }
  // Linearity: MB/s on the large file over MB/s on its first quarter (1.0 = linear).
  for (const t of ['scan', 'rg']) {
    const big = g(`large/${t}`);
    const small = g(`large/${t}-quarter`);
    if (big?.summary?.mbps && small?.summary?.status === 'ok' && small.summary.mbps)
      R[`linearity ${t}`] = { value: big.summary.mbps / small.summary.mbps, bound: big.summary.bound, desc: `${t} MB/s on the large file / on its first quarter` };
  }
  // Scaling: all CPUs over one CPU on the main corpus (ours: taskset -c 0; rg: -j1).
  const scaling = (one, all, desc) => {
    if (one?.summary?.status !== 'ok' || all?.summary?.status !== 'ok') return undefined;
    const pairs = pairedRatios(one, all);
    const spread = pairs.length > 1 ? `; ${pairs.length} pairs, ${pairs.map((x) => x.toFixed(2)).join(' ')}` : '';
    return { value: pairs.length ? median(pairs) : one.summary.wall / all.summary.wall, bound: null, desc: desc + spread };
  };
  const sc = scaling(g('scaling/scan-1cpu'), g('scaling/scan'), 'scan wall on 1 CPU / on all CPUs');
  if (sc) R['scaling scan'] = sc;
  const sr = scaling(g('main/rg-j1'), g('main/rg'), 'rg -j1 wall / rg wall');
  if (sr) R['scaling rg'] = sr;
  return R;
}

/**
 * Wall-time ratios of two cases run in the same group, one per round (runGroup interleaves
 * them, so each pair ran minutes apart at most): on this shared VM the host's speed drifts by
 * ±20 % between minutes, and a ratio of two medians taken at different times moved with it.
 */
function pairedRatios(a, b) {
  if (a.runs.length !== b.runs.length) return [];
  return a.runs.map((r, i) => r.wall / b.runs[i].wall);
}

function computeTargets(cases, ratios, opts) {
  const T = [];
  const sizeNote = opts.size === 1e9 ? '' : ` (measured on ${fmtSizeTag(opts.size)}; target stated for 1 GB)`;
  const st = (r, min) => (!r ? 'n/a' : r.bound === 'upper' ? (r.value < min ? 'FAIL' : 'n/a') : r.value >= min ? 'PASS' : 'FAIL');
  // Prefer the main corpus (an evidence folder); fall back to the large file when main did not run.
  const pick = (name) => (ratios[`main ${name}`] ? ['main', ratios[`main ${name}`]] : ratios[`large ${name}`] ? ['large', ratios[`large ${name}`]] : ['main', undefined]);
  const largeNote = ` (measured on the ${fmtSizeTag(opts.largeSize)} large file; target stated for 1 GB)`;
  // The CPU-time ratio is shown next to the wall-time one: on a busy machine it is the steadier.
  const withCpu = (r, rc, min) => (rc ? `${fmtRatio(r, min)} (CPU ${fmtRatio(rc)})` : fmtRatio(r, min));
  for (const t of ['scan', 'redact']) {
    const [wl, r] = pick(`${t}/rg`);
    T.push({ target: `${t} ≥ 0.5× rg -o throughput${wl === 'main' ? sizeNote : largeNote}`, value: withCpu(r, ratios[`${wl} ${t}/rg cpu`], 0.5), status: st(r, 0.5) });
  }
  const [pwl, pz] = pick('pack/zip');
  T.push({ target: `pack ≥ 0.8× zip -r -${ZIP_LEVEL}${pwl === 'large' ? ' (large file)' : ''}`, value: withCpu(pz, ratios[`${pwl} pack/zip cpu`], 0.8), status: st(pz, 0.8) });
  const sc = ratios['scaling scan'];
  T.push({ target: '2 cores ≥ 1.7× 1 core (scan, main corpus)', value: fmtRatio(sc, 1.7), status: st(sc, 1.7) });
  // The issue states the memory target for one large file and for many small files. The other
  // workloads' peaks (a 1 GB folder holds its findings until the manifest is written) are listed
  // without a target, so a FAIL always means one of the two stated cases.
  const peakOf = (inWorkload) => {
    const ours = Object.entries(cases).filter(([k, c]) => inWorkload(k.split('/')[0]) && c.side === 'ours' && c.summary?.rssMB !== null && c.summary?.rssMB !== undefined);
    if (!ours.length) return undefined;
    const [k, c] = ours.reduce((a, b) => (b[1].summary.rssMB > a[1].summary.rssMB ? b : a));
    return { k, mb: c.summary.rssMB, bound: ours.some(([, x]) => x.summary.status === 'timeout') };
  };
  const rssCases = [
    ['one large file', (w) => w === 'large', opts.largeSize === 5e9 ? '' : ` (measured on ${fmtSizeTag(opts.largeSize)}; target stated for 5 GB)`],
    ['small files', (w) => w === 'small', opts.smallFiles === 100_000 ? '' : ` (measured on ${opts.smallFiles} files; target stated for 100000)`],
  ];
  for (const [what, inWorkload, note] of rssCases) {
    const p = peakOf(inWorkload);
    T.push({
      target: `peak RSS ≤ 300 MB, ${what}${note}`,
      value: p ? `${sig(p.mb)} MB (${p.k})${p.bound ? '; some runs killed early' : ''}` : 'n/a',
      status: !p ? 'n/a' : p.mb <= 300 ? (p.bound ? 'PASS so far' : 'PASS') : 'FAIL',
    });
  }
  const other = peakOf((w) => !rssCases.some(([, inWorkload]) => inWorkload(w)));
  if (other) T.push({ target: 'peak RSS, other workloads (no target)', value: `${sig(other.mb)} MB (${other.k})`, status: 'info' });
  const su = cases['startup/scan'];
  const ms = su?.summary?.status === 'ok' ? su.summary.wall * 1000 : null;
  T.push({ target: 'start-up + scan of one small file ≤ 300 ms', value: ms === null ? 'n/a' : `${ms > 300 && Math.round(ms) <= 300 ? ms.toFixed(1) : Math.round(ms)} ms`, status: ms === null ? 'n/a' : ms <= 300 ? 'PASS' : 'FAIL' });
  const lin = ratios['linearity scan'];
  T.push({
    target: 'cost linear in size (scan MB/s, large file / its first quarter ≥ 0.8)',
    value: fmtRatio(lin, 0.8),
    status: !lin ? 'n/a' : lin.bound ? 'n/a' : lin.value >= 0.8 ? 'PASS' : 'FAIL',
  });
  return T;
}

// ---------------------------------------------------------------------------------------------
// Printing

function caseRows(cases) {
  return Object.values(cases).map((c) => {
    const s = c.summary;
    const b = s.bound === 'upper' ? '<' : '';
    const wallB = s.bound === 'upper' ? '>' : '';
    const f = s.findings;
    const found = f ? (f.total !== undefined ? `${fmtCount(f.total)}${f.secret !== undefined ? ` (secret ${fmtCount(f.secret)})` : ''}` : '') : '';
    return [
      c.workload,
      c.label,
      s.status === 'ok' ? String(s.n) : s.status,
      s.wall === null ? '-' : wallB + secs(s.wall),
      s.mbps === null || c.bytes < 1e6 ? '-' : b + sig(s.mbps),
      s.filesps === null || c.files < 2 ? '-' : b + sig(s.filesps),
      s.cpu === null ? '-' : wallB + secs(s.cpu),
      s.rssMB === null ? '-' : sig(s.rssMB),
      found,
      c.notes.join('; '),
    ];
  });
}

const CASE_HEADER = ['workload', 'command', 'runs', 'wall s', 'MB/s', 'files/s', 'CPU s', 'peak RSS MB', 'matches/findings', 'notes'];

function ratioRows(ratios) {
  return Object.entries(ratios).map(([k, r]) => [k, fmtRatio(r), r.desc]);
}

function printReport(res, opts, print) {
  const m = res.machine;
  print(`\naliscrub bench — ${res.date}`);
  print(`machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memGB} GB RAM, ${m.os}; node ${m.node}; ${m.rg ?? 'rg absent'}; ${m.zip ? `zip ${m.zip}` : 'zip absent'}; ${m.gnuTime ? 'GNU time' : 'no GNU time (fallback: /proc polling)'}`);
  print(`load average at start ${res.loadavgStart.map((x) => x.toFixed(2)).join(' ')} (threshold ${(0.3 * m.nproc).toFixed(2)})${res.noisy ? '  ** NOISY RUN: compare ratios only, expect ±25% **' : ''}; at end ${res.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
  print(`aliscrub ${m.aliscrub}, ${res.regex.detectors} detectors (ruleset ${res.regex.rulesetSha}); rg runs ${res.regex.rgPatterns ?? 0} of them${res.regex.rgFlags.length ? ` with ${res.regex.rgFlags.join(' ')}` : ''}, ${res.regex.rgSyntax}`);
  for (const x of res.regex.rejected) print(`  rg rejects detector ${x.id} (pattern ${x.index}): ${x.message}`);
  if (res.regex.rgError) print(`  rg cannot run the exported patterns: ${res.regex.rgError}`);
  for (const w of res.warnings ?? []) print(`  WARNING: ${w}`);
  if (!m.rg) print('  rg is not installed: no rg reference figures (apt-get install ripgrep)');
  if (!m.zip) print('  zip is not installed: no zip reference figures (apt-get install zip)');
  print(`options: ${opts.argv.length ? opts.argv.join(' ') : '(defaults)'}; runs ${opts.runs}, budget ${opts.budget || 'none'} s, slow ${opts.slow} s`);
  print('\ncorpora (bench/corpus, seed ' + opts.seed + '):');
  print(
    table(
      ['workload', 'path', 'files', 'bytes', 'lines', 'planted secrets', 'emails', 'CN mobiles', 'IPv4'],
      Object.entries(res.corpora).map(([wl, c]) => [wl, rel(c.path), String(c.files), fmtBytes(c.bytes), fmtCount(c.lines), String(c.plantedSecrets), fmtCount(c.planted.email), fmtCount(c.planted.cnMobile), fmtCount(c.planted.ipv4)]),
    ),
  );
  print('\nresults (median of runs; MB = 10^6 bytes; MB/s and files/s from wall time; peak RSS = max over runs):');
  print(table(CASE_HEADER, caseRows(res.cases)));
  print('\nratios, ours / reference, measured in this run (>1 = aliscrub faster; < = bound from a run killed early):');
  print(table(['ratio', 'value', 'meaning'], ratioRows(res.ratios)));
  print('\ntargets (issue 6):');
  print(table(['target', 'measured', 'status'], res.targets.map((t) => [t.target, t.value, t.status])));
  print(
    `\ncommand lines (run from ${ROOT}; PAT.txt = \`aliscrub detectors --export-regex\`${opts.rgUnicode ? '' : ' with \\d \\w \\s \\b spelled out in ASCII'}${res.regex.rejected.length ? ', minus the patterns rg rejects' : ''}; ${opts.snapshot ? 'bin/aliscrub.js runs from a copy of bin/ dist/ patterns/ schema/ taken at start; ' : ''}stdout and stderr go to files under bench/out/):`,
  );
  for (const c of Object.values(res.cases)) print(`  ${c.workload}/${c.id}: ${c.cmdline}`);
  if (opts.markdown) {
    print('\n--- markdown ---\n');
    print(markdownTable(CASE_HEADER, caseRows(res.cases)));
    print('');
    print(markdownTable(['ratio', 'value', 'meaning'], ratioRows(res.ratios)));
    print('');
    print(markdownTable(['target', 'measured', 'status'], res.targets.map((t) => [t.target, t.value, t.status])));
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    LOG(`bench: ${e.message}\n\n${HELP}`);
    return 2;
  }
  const print = opts.json ? LOG : (s) => OUT(`${s}\n`);
  const t0 = Date.now() / 1000;
  const loadavgStart = os.loadavg();
  const mach = machine();
  let noisy = loadavgStart[0] > 0.3 * mach.nproc;
  LOG(`aliscrub bench: load average ${loadavgStart[0].toFixed(2)} on ${mach.nproc} CPU${noisy ? ' — NOISY (> 0.3 × nproc): figures will vary; compare ratios only' : ''}`);
  const rgPresent = Boolean(mach.rg);
  const zipPresent = Boolean(mach.zip);
  if (!rgPresent) LOG('rg is not installed: rg reference runs are skipped (apt-get install -y ripgrep)');
  if (!zipPresent) LOG('zip is not installed: zip reference runs are skipped (apt-get install -y zip)');
  if (!mach.gnuTime) LOG('GNU time not found at /usr/bin/time: using /proc polling for CPU time and peak RSS (apt-get install -y time)');

  fs.mkdirSync(opts.corpusDir, { recursive: true });
  fs.mkdirSync(opts.outDir, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aliscrub-bench-'));
  // Ctrl-C or kill ends the process without running `finally`: remove what it made first, as the
  // end of a run does (an interrupted run used to leave its copy of the product in the temp folder).
  const cleanUp = () => {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    if (!opts.keepOutput) fs.rmSync(opts.outDir, { recursive: true, force: true });
  };
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(sig, () => {
      LOG(`\nbench: interrupted (${sig}); temporary files removed`);
      cleanUp();
      process.exit(code);
    });
  }
  try {
    // Corpora first: generation needs no build.
    const corpora = {};
    const gen = (wl, fn) => {
      const t = Date.now();
      const m = fn();
      LOG(`corpus ${wl}: ${rel(m.path)} ${m.files} files ${fmtBytes(m.bytes)} ${m.reused ? '(reused)' : `(generated in ${((Date.now() - t) / 1000).toFixed(1)} s)`}`);
      corpora[wl] = m;
      return m;
    };
    const W = opts.workloads;
    if (W.has('startup')) gen('startup', () => ensureStartupFile(opts.corpusDir, { seed: opts.seed }));
    if (W.has('main') || W.has('scaling')) gen('main', () => ensureMainCorpus(opts.corpusDir, { totalBytes: opts.size, seed: opts.seed }));
    if (W.has('small')) gen('small', () => ensureSmallFiles(opts.corpusDir, { count: opts.smallFiles, seed: opts.seed }));
    if (W.has('large')) {
      gen('large', () => ensureLargeFile(opts.corpusDir, { bytes: opts.largeSize, seed: opts.seed }));
      gen('large-quarter', () => ensureLargeFile(opts.corpusDir, { bytes: Math.floor(opts.largeSize / 4), seed: opts.seed, name: `large-${fmtSizeTag(opts.largeSize)}-s${opts.seed}.quarter.log` }));
    }
    if (opts.generateOnly) {
      OUT(JSON.stringify(corpora, null, 2) + '\n');
      return 0;
    }

    const build = ensureBuilt(opts.build);
    LOG(`build: ${build}`);
    if (opts.snapshot) RUN_BIN = snapshotProduct(path.join(tmpDir, 'product'));
    const rx = prepareRegexes(opts, tmpDir, rgPresent);
    for (const x of rx.rejected) LOG(`rg rejects detector ${x.id} (pattern ${x.index}): ${x.message}`);
    if (rx.rgError) LOG(`rg cannot run the exported patterns: ${rx.rgError}`);

    const ctx = {
      opts,
      rx,
      zip: zipPresent,
      tools: Object.fromEntries(TOOLS.map((t) => [t, opts.tools.has(t)])),
      rates: {},
      timedOutTools: {},
      startupSec: null,
      deadline: opts.budget > 0 ? t0 + opts.budget : Infinity,
    };
    const all = {};
    const keep = (list) => {
      for (const c of list) {
        const show = (a) => {
          if (a === process.execPath) return 'node';
          if (a === rx.rgFile) return 'PAT.txt';
          if (a === RUN_BIN) return rel(BIN);
          if (!path.isAbsolute(a)) return a;
          const r = path.relative(c.cwd, a);
          return r.startsWith('../../') ? a : r || '.';
        };
        c.cmdline = [c.cmd, ...c.args].map(show).map(shellQuote).join(' ');
        if (c.cwd !== ROOT) c.cmdline = `(cd ${rel(c.cwd).startsWith('../../') ? c.cwd : rel(c.cwd)} && ${c.cmdline})`;
        all[`${c.workload}/${c.id}`] = c;
      }
    };

    // 1. Start-up: one small file.
    if (W.has('startup')) {
      const file = path.join(corpora.startup.path, 'app.log');
      const cs = [{ workload: 'startup', id: 'node', tool: 'node', side: 'ref', label: 'node -e 0 (floor)', cmd: process.execPath, args: ['-e', '0'], cwd: ROOT, bytes: corpora.startup.bytes, files: 1 }];
      if (ctx.tools.rg && rx.rgFile) cs.push({ workload: 'startup', id: 'rg', tool: 'rg', side: 'ref', label: 'rg -o -f PAT', cmd: 'rg', args: ['--no-config', ...rx.rgFlags, '-o', '-f', rx.rgFile, file], cwd: ROOT, bytes: corpora.startup.bytes, files: 1, stdout: path.join(opts.outDir, 'startup-rg.txt') });
      if (ctx.tools.scan) cs.push(oursCase('scan', 'scan', 'aliscrub scan', 'scan', file, [], opts, { workload: 'startup', bytes: corpora.startup.bytes, files: 1, stdout: path.join(opts.outDir, 'startup-scan.txt'), rateKey: 'startup' }));
      keep(cs);
      await runGroup('startup', cs, ctx, opts.startupRuns);
      const s = all['startup/scan'];
      if (s?.summary?.status === 'ok') ctx.startupSec = s.summary.wall;
    }

    // 2. Main corpus: scan, redact, pack vs rg and zip.
    if (W.has('main')) {
      const cs = buildCases('main', corpora.main.path, corpora.main, ctx);
      keep(cs);
      await runGroup('main', cs, ctx, opts.runs);
    }

    // 3. Scaling: the main corpus on one CPU (taskset -c 0) against all CPUs, both run here. It runs
    //    right after main (a target of issue 6; large and small are figures), so a short --budget
    //    cuts those first.
    if (W.has('scaling')) {
      if (!mach.taskset || mach.nproc < 2) LOG(`\n[scaling] skipped: ${mach.taskset ? 'only one CPU' : 'taskset not installed (util-linux)'}`);
      else if (ctx.tools.scan) {
        const m = corpora.main;
        // Both run here, interleaved, even when main/scan already ran: the ratio is taken per round.
        const cs = [
          oursCase('scan-1cpu', 'scan', 'taskset -c 0 aliscrub scan', 'scan', m.path, [], opts, { workload: 'scaling', taskset: true, bytes: m.bytes, files: m.files, stdout: path.join(opts.outDir, 'scaling-scan-1cpu.txt') }),
          oursCase('scan', 'scan', 'aliscrub scan', 'scan', m.path, [], opts, { workload: 'scaling', bytes: m.bytes, files: m.files, stdout: path.join(opts.outDir, 'scaling-scan.txt') }),
        ];
        keep(cs);
        await runGroup('scaling', cs, ctx, opts.runs, true);
      }
    }

    // 4. One large file: peak RSS, and linearity against its first quarter. The quarter runs first
    //    so that, when the budget is short, at least the smaller file is measured.
    if (W.has('large')) {
      const cs = buildCases('large', corpora.large.path, corpora.large, ctx);
      const q = corpora['large-quarter'];
      const qmeta = { bytes: q.bytes, files: 1 };
      const first = [];
      if (ctx.tools.rg && rx.rgFile)
        first.push({ workload: 'large', id: 'rg-quarter', tool: 'rg', side: 'ref', label: 'rg -o -f PAT (first quarter)', cmd: 'rg', args: ['--no-config', ...rx.rgFlags, '-o', '-f', rx.rgFile, q.path], cwd: ROOT, stdout: path.join(opts.outDir, 'large-rg-quarter.txt'), ...qmeta });
      if (ctx.tools.scan) first.push(oursCase('scan-quarter', 'scan', 'aliscrub scan (first quarter)', 'scan', q.path, [], opts, { workload: 'large', stdout: path.join(opts.outDir, 'large-scan-quarter.txt'), ...qmeta }));
      cs.unshift(...first);
      keep(cs);
      await runGroup('large', cs, ctx, opts.runs);
    }

    // 5. Many small files: files/s.
    if (W.has('small')) {
      const cs = buildCases('small', corpora.small.path, corpora.small, ctx);
      for (const c of cs) c.rateKey = `${c.tool}-small`;
      keep(cs);
      await runGroup('small', cs, ctx, opts.runs);
    }

    // Did anything change under us? Other work on the machine, or the detectors being edited.
    const loadavgEnd = os.loadavg();
    if (loadavgEnd[0] > 1.5 + 0.3 * mach.nproc) {
      noisy = true;
      LOG(`load average rose to ${loadavgEnd[0].toFixed(2)} during the run (this bench alone keeps it near 1): marked NOISY`);
    }
    const rxEnd = spawnSync(process.execPath, [BIN, 'detectors', '--export-regex', ...aliscrubArgs(opts)], { cwd: ROOT, encoding: 'utf8' });
    const shaEnd = rxEnd.status === 0 ? createHash('sha256').update(rxEnd.stdout).digest('hex').slice(0, 12) : `unloadable (exit ${rxEnd.status})`;
    const detectorsChanged =
      shaEnd !== rx.rulesetSha
        ? `the working tree's detectors differ from the ones measured (${rx.rulesetSha} → ${shaEnd} at the end)${opts.snapshot ? '; the figures are for the snapshot taken at start' : ': figures may mix two versions'}`
        : null;
    if (detectorsChanged) LOG(`warning: ${detectorsChanged}`);
    const ratios = computeRatios(all);
    const res = {
      date: new Date(t0 * 1000).toISOString(), // start of the run
      finished: new Date().toISOString(),
      machine: mach,
      loadavgStart,
      loadavgEnd,
      noisy,
      warnings: [detectorsChanged].filter(Boolean),
      options: { size: opts.size, largeSize: opts.largeSize, smallFiles: opts.smallFiles, runs: opts.runs, startupRuns: opts.startupRuns, seed: opts.seed, budget: opts.budget, slow: opts.slow, patterns: opts.patterns.map(rel), argv: opts.argv },
      build,
      elapsedSeconds: Number((Date.now() / 1000 - t0).toFixed(1)),
      regex: { detectors: rx.detectors, rulesetSha: rx.rulesetSha, rgPatterns: rx.rgPatterns ?? 0, rgFlags: rx.rgFlags, rgSyntax: rx.rgUnicode ? 'as exported (rg Unicode semantics)' : 'RE2 ASCII classes spelled out (lib/rgsyntax.mjs)', rejected: rx.rejected, rgError: rx.rgError },
      corpora: Object.fromEntries(Object.entries(corpora).map(([k, v]) => [k, { ...v, path: rel(v.path), reused: undefined }])),
      cases: Object.fromEntries(
        Object.entries(all).map(([k, c]) => [
          k,
          {
            workload: c.workload,
            id: c.id,
            label: c.label,
            side: c.side,
            tool: c.tool,
            cmdline: c.cmdline,
            bytes: c.bytes,
            files: c.files,
            summary: c.summary,
            notes: c.notes,
            runs: c.runs.map((r) => ({ wall: Number(r.wall.toFixed(4)), cpu: r.cpu, maxRssKB: r.maxRssKB, code: r.code, signal: r.signal })),
          },
        ]),
      ),
      ratios,
    };
    res.targets = computeTargets(all, ratios, opts);
    for (const [k, c] of Object.entries(res.cases)) c.notes = all[k].notes;
    printReport({ ...res, cases: all }, opts, print);
    LOG(`\nelapsed ${res.elapsedSeconds} s`);

    if (opts.compare) {
      if (!fs.existsSync(opts.baselinePath)) print(`\n--compare: no baseline at ${rel(opts.baselinePath)} (create it with --save-baseline)`);
      else {
        const base = JSON.parse(fs.readFileSync(opts.baselinePath, 'utf8'));
        const cmp = compareResults(base, res);
        print(`\ncompared with ${rel(opts.baselinePath)} (${base.date}, ${base.machine?.cpuModel}, ${base.machine?.nproc} CPU, size ${fmtSizeTag(base.options?.size ?? 0)}):`);
        const diffs = [];
        if (base.machine?.cpuModel !== mach.cpuModel || base.machine?.nproc !== mach.nproc) diffs.push('different machine');
        if (base.options?.size !== opts.size || base.options?.largeSize !== opts.largeSize || base.options?.smallFiles !== opts.smallFiles || base.options?.seed !== opts.seed) diffs.push('different corpus parameters');
        if (JSON.stringify(base.regex?.rgFlags ?? []) !== JSON.stringify(rx.rgFlags) || base.regex?.rgSyntax !== res.regex.rgSyntax || base.regex?.rgPatterns !== res.regex.rgPatterns)
          diffs.push(`rg ran differently (${base.regex?.rgPatterns} patterns, ${(base.regex?.rgFlags ?? []).join(' ') || 'no extra flags'}, ${base.regex?.rgSyntax ?? 'patterns as exported'} → ${res.regex.rgPatterns}, ${rx.rgFlags.join(' ') || 'no extra flags'}, ${res.regex.rgSyntax})`);
        if (base.regex?.rulesetSha !== rx.rulesetSha) diffs.push(`different detectors (${base.regex?.detectors} → ${rx.detectors})`);
        if (base.noisy || noisy) diffs.push('a noisy run is involved');
        if (diffs.length) print(`  note: ${diffs.join('; ')}: absolute figures are not comparable; look at the ratios`);
        print(table(['metric', 'baseline', 'now', 'delta', ''], cmp.rows));
        if (cmp.missing.length) print(`  not compared: ${cmp.missing.join(', ')}`);
        print(`  ${cmp.regressions} metric(s) worse by more than 15%`);
        res.comparison = { baseline: rel(opts.baselinePath), baselineDate: base.date, regressions: cmp.regressions, rows: cmp.rows, notes: diffs };
      }
    }
    if (opts.saveBaseline) {
      const { comparison, ...toSave } = res;
      fs.writeFileSync(opts.baselinePath, JSON.stringify(toSave, null, 2) + '\n');
      print(`\nbaseline written: ${rel(opts.baselinePath)}`);
    }
    if (opts.json) OUT(JSON.stringify(res, null, 2) + '\n');
    return Object.values(all).some((c) => c.failed) ? 1 : 0;
  } catch (e) {
    LOG(`bench: ${e.message}`);
    return 2;
  } finally {
    cleanUp();
  }
}

process.exitCode = await main();

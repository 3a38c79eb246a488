/**
 * The command line: yargs → options → run → report. The only module that touches `process`
 * (argv, env, stdio, exit code, signals); {@link runCli} takes all of those as arguments so tests
 * can drive it in-process.
 *
 * Exit codes (same for every command):
 *   0  nothing found / every input processed
 *   1  findings or unscannable inputs (scan, verify); bundle written but inputs left out (redact, pack)
 *   2  usage error, bad pattern file, bad bundle, or fatal error — nothing left at the output path
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { BundleError, DetectorError, ExitCode, UsageError } from './errors.js';
import { createLogger } from './log.js';
import type { Logger } from './log.js';
import { pack, redactToDir, scan } from './run.js';
import type { RunOptions } from './run.js';
import type { FileRecord, Manifest } from './manifest.js';
import { serializeManifest } from './manifest.js';
import { verifyBundle } from './verify.js';
import { loadRuleset } from './detect/load.js';
import { VERSION } from './version.js';
import { parseEncoding } from './source/encoding.js';
import type { TextEncoding } from './source/encoding.js';

/** Everything the CLI needs from its environment. */
export interface CliIo {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly signal?: AbortSignal;
}

interface CommonArgs {
  exclude?: string[];
  patterns?: string[];
  only?: string[];
  'key-file'?: string;
  concurrency?: number;
  'max-file-size'?: number;
  encoding?: string;
  quiet?: boolean;
}

const EXAMPLES: Array<[string, string]> = [
  ['$0 scan ./incident', 'report findings; exit 1 if any'],
  ['$0 scan ./incident --format json --output report.json', 'machine-readable report'],
  ['$0 pack ./incident --out ticket-123.zip', 'write the ticket-ready bundle'],
  ['$0 redact ./incident --out-dir ./scrubbed', 'write redacted copies to a folder'],
  ['$0 verify ticket-123.zip', 're-check a bundle before attaching it'],
  ['$0 detectors', 'list detectors'],
];

/** Parses `--max-file-size 20MB`-style sizes into bytes. */
function parseSize(v: unknown): number {
  if (v === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?$/i.exec(String(v).trim());
  if (!m) throw new UsageError(`--max-file-size: '${String(v)}' is not a size (e.g. 500MB)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[unit]!);
}

function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('exclude', { type: 'string', array: true, describe: 'glob of files to leave out (repeatable), matched against paths relative to the input root' })
    .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to use instead of the built-in detectors (repeatable)' })
    .option('only', { type: 'string', array: true, describe: 'run only these detector ids (repeatable)' })
    .option('key-file', { type: 'string', describe: 'file holding the fingerprint key (>= 16 bytes); same key => same tokens across runs' })
    .option('concurrency', { type: 'number', describe: 'files processed at once', default: 4 })
    .option('max-file-size', { type: 'string', describe: 'leave out files larger than this (e.g. 2GB); default: no limit' })
    .option('encoding', { type: 'string', describe: 'read every text file in this encoding instead of detecting it: utf-8, utf-16le, utf-16be, gb18030 (gbk)' })
    .option('quiet', { type: 'boolean', alias: 'q', describe: 'print only errors and results' }) as unknown as Argv<T & CommonArgs>;
}

async function runOptions(args: CommonArgs & { paths?: string[] }, io: CliIo, log: Logger): Promise<RunOptions> {
  let key: Buffer | undefined;
  if (args['key-file']) {
    try {
      key = await readFile(path.resolve(io.cwd, args['key-file']));
    } catch {
      throw new UsageError(`--key-file: cannot read ${args['key-file']}`);
    }
  }
  let encoding: TextEncoding | undefined;
  if (args.encoding !== undefined) {
    encoding = parseEncoding(args.encoding);
    if (!encoding) throw new UsageError(`--encoding: unknown encoding '${args.encoding}' (use utf-8, utf-16le, utf-16be or gb18030)`);
  }
  const epoch = io.env['SOURCE_DATE_EPOCH'];
  if (epoch !== undefined && !/^\d+$/.test(epoch)) throw new UsageError('SOURCE_DATE_EPOCH must be a whole number of seconds');
  return {
    inputs: args.paths ?? [],
    cwd: io.cwd,
    exclude: args.exclude ?? [],
    patterns: args.patterns?.map((p) => path.resolve(io.cwd, p)),
    detectors: args.only,
    key,
    concurrency: args.concurrency,
    maxFileBytes: parseSize(args['max-file-size']),
    encoding,
    sourceDateEpoch: epoch === undefined ? undefined : Number(epoch),
    log,
    signal: io.signal,
  };
}

/** Inputs the user did not choose to leave out, but which are not (fully) in the output. */
function leftOut(files: readonly FileRecord[]): FileRecord[] {
  return files.filter((f) => f.status === 'failed' || (f.status === 'excluded' && f.reason !== 'excluded'));
}

function summaryLines(m: Manifest): string[] {
  const t = m.totals;
  const out = leftOut(m.files);
  const reasons = new Map<string, number>();
  for (const f of out) {
    const r = f.status === 'failed' ? f.reason : f.status === 'excluded' ? f.reason : '';
    reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  const why = [...reasons].map(([r, n]) => `${r} ${n}`).join(', ');
  return [
    `files: ${t.redacted + t.clean} processed (${t.redacted} redacted, ${t.clean} clean), ${out.length} left out${why ? ` (${why})` : ''}${t.excluded - (out.length - t.failed) > 0 ? `, ${t.excluded - (out.length - t.failed)} excluded by --exclude` : ''}`,
    `findings: ${t.findings} (secret ${t.byCategory.secret}, pii ${t.byCategory.pii}, identifier ${t.byCategory.identifier})`,
  ];
}

function textReport(m: Manifest): string {
  const lines: string[] = [];
  for (const f of m.files) {
    if (f.status === 'redacted') for (const x of f.findings) lines.push(`${f.path}:${x.line}:${x.column} ${x.detector} (${x.category}) ${x.fingerprint}`);
    else if (f.status === 'failed') lines.push(`${f.path}: not scanned: ${f.reason}`);
    else if (f.status === 'excluded' && f.reason !== 'excluded') lines.push(`${f.path}: not scanned: ${f.reason}`);
  }
  lines.push(...summaryLines(m));
  return `${lines.join('\n')}\n`;
}

/** Writes a report file atomically (temporary name, then rename). */
async function writeReport(file: string, text: string): Promise<void> {
  const tmp = `${file}.aliscrub-${process.pid}.tmp`;
  await writeFile(tmp, text, { flag: 'wx' });
  await rename(tmp, file);
}

/**
 * Runs the CLI with explicit I/O. Never throws and never exits the process.
 * @returns the exit code (see the module comment).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  let usageFailure: string | undefined;
  const parser = yargs([...argv])
    .scriptName('aliscrub')
    .version(VERSION)
    .usage('$0 <command> [options]\n\nMake evidence safe to attach to an Alibaba Cloud support ticket.')
    .command(
      'scan <paths..>',
      'report findings without writing anything else (CI gate)',
      (y) =>
        commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'report format' })
          .option('output', { type: 'string', alias: 'o', describe: 'write the report to FILE instead of stdout (exit code unchanged)' }),
      async (args) => {
        const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
        const { manifest } = await scan(await runOptions(args, io, log));
        const report = args.format === 'json' ? serializeManifest(manifest) : textReport(manifest);
        if (args.output) await writeReport(path.resolve(io.cwd, args.output), report);
        else io.stdout(report);
        exitCode = manifest.totals.findings > 0 || leftOut(manifest.files).length > 0 ? ExitCode.Findings : ExitCode.Ok;
      },
    )
    .command(
      'redact <paths..>',
      'write redacted copies, manifest.json and REDACTIONS.md to a folder',
      (y) =>
        commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
          .option('out-dir', { type: 'string', demandOption: true, describe: 'output folder (must be empty, outside every input)' })
          .option('force', { type: 'boolean', default: false, describe: 'replace a non-empty output folder' }),
      async (args) => {
        const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
        const res = await redactToDir(await runOptions(args, io, log), args['out-dir'], args.force);
        io.stdout(`${[`redacted copies written: ${path.relative(io.cwd, res.path) || res.path}`, ...summaryLines(res.manifest)].join('\n')}\n`);
        exitCode = leftOut(res.manifest.files).length > 0 ? ExitCode.Findings : ExitCode.Ok;
      },
    )
    .command(
      'pack <paths..>',
      'write the ticket-ready zip bundle',
      (y) =>
        commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
          .option('out', { type: 'string', demandOption: true, describe: 'bundle path, ending in .zip (outside every input)' })
          .option('force', { type: 'boolean', default: false, describe: 'replace an existing bundle' }),
      async (args) => {
        const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
        const res = await pack(await runOptions(args, io, log), args.out, args.force);
        io.stdout(
          `${[`bundle written: ${path.relative(io.cwd, res.path) || res.path} (${res.bytes} bytes, sha256 ${res.sha256})`, ...summaryLines(res.manifest)].join('\n')}\n`,
        );
        exitCode = leftOut(res.manifest.files).length > 0 ? ExitCode.Findings : ExitCode.Ok;
      },
    )
    .command(
      'verify <bundle>',
      'recompute every hash in a bundle and rescan every entry',
      (y) =>
        y
          .positional('bundle', { type: 'string', demandOption: true, describe: 'a .zip from pack or a folder from redact' })
          .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to rescan with' }),
      async (args) => {
        const res = await verifyBundle(path.resolve(io.cwd, args.bundle), args.patterns?.map((p) => path.resolve(io.cwd, p)));
        for (const p of res.problems) io.stdout(`${p}\n`);
        io.stdout(res.ok ? `verified: ${res.entries} entries match the manifest and rescan clean\n` : `verification FAILED: ${res.problems.length} problem(s)\n`);
        exitCode = res.ok ? ExitCode.Ok : ExitCode.Findings;
      },
    )
    .command(
      'detectors',
      'list the detectors',
      (y) =>
        y
          .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
          .option('export-regex', { type: 'boolean', default: false, describe: "print each detector's regex, one per line, for `rg -f` (RE2 syntax, flags inlined)" })
          .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to list' }),
      async (args) => {
        const rs = await loadRuleset(args.patterns?.map((p) => path.resolve(io.cwd, p)));
        if (args['export-regex']) {
          for (const d of rs.detectors) io.stdout(`${d.spec.flags ? `(?${d.spec.flags}:${d.spec.pattern})` : d.spec.pattern}\n`);
        } else if (args.json) {
          const list = rs.detectors.map((d) => ({ id: d.id, category: d.category, family: d.family, description: d.description, validators: d.validators, maxLength: d.maxLength }));
          io.stdout(`${JSON.stringify(list, null, 2)}\n`);
        } else {
          const w = Math.max(...rs.detectors.map((d) => d.id.length));
          for (const d of rs.detectors)
            io.stdout(`${d.id.padEnd(w)}  ${d.category.padEnd(10)}  ${(d.validators.join(',') || '-').padEnd(16)}  ${d.description}\n`);
        }
      },
    )
    .example(EXAMPLES)
    .epilogue('Exit codes: 0 clean / all processed; 1 findings, unscannable inputs, or inputs left out of the output; 2 usage, pattern or fatal error.')
    .demandCommand(1, 'name a command: scan, redact, pack, verify or detectors')
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .showHelpOnFail(false)
    .wrap(Math.min(110, 110))
    .fail((msg, err) => {
      if (err) throw err;
      usageFailure = msg;
    });

  try {
    let helpText = '';
    await parser.parseAsync([...argv], {}, (_err, _argv, output) => {
      helpText = output;
    });
    if (usageFailure) {
      io.stderr(`aliscrub: ${usageFailure}\n(see aliscrub --help)\n`);
      return ExitCode.Fatal;
    }
    if (helpText) io.stdout(`${helpText}\n`);
    return exitCode;
  } catch (err) {
    if (usageFailure) {
      io.stderr(`aliscrub: ${usageFailure}\n`);
      return ExitCode.Fatal;
    }
    if (err instanceof UsageError || err instanceof DetectorError || err instanceof BundleError) {
      io.stderr(`aliscrub: ${err.message}\n`);
      return ExitCode.Fatal;
    }
    if (io.signal?.aborted) {
      io.stderr('aliscrub: interrupted; partial output removed\n');
      return ExitCode.Fatal;
    }
    // Unexpected: report the message only (a stack could carry a value from a third-party error).
    io.stderr(`aliscrub: fatal error: ${(err as Error)?.message ?? String(err)}\n`);
    return ExitCode.Fatal;
  }
}

/** Entry point for the `aliscrub` binary: wires the real process into {@link runCli}. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    signal: controller.signal,
  });
  process.exitCode = controller.signal.aborted ? 130 : code;
}

/**
 * The command line: yargs → options → run → report. The only module that touches `process`
 * (argv, env, stdio, exit code, signals); {@link runCli} takes all of those as arguments so tests
 * can drive it in-process.
 *
 * Exit codes (same for every command):
 *   0  nothing found / every input processed
 *   1  scan: a finding at or above --fail-on after allowlists and baseline, or an unscannable input
 *      (unless --allow-unscanned); verify: failed; redact, pack, baseline create: output written
 *      but inputs left out
 *   2  usage, configuration, pattern or baseline error, bad bundle, or fatal error — nothing left
 *      at the output path
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import type { Argv } from 'yargs';
import type Yargs from 'yargs/yargs';
import { BundleError, DetectorError, ExitCode, UsageError } from './errors.js';
import { createLogger } from './log.js';
import { parseSize } from './size.js';
import type { Logger } from './log.js';
import type { RunOptions } from './run.js';
import type { Manifest } from './manifest.js';
import { leftOut, manifestChunks } from './manifest.js';
import type { ArchiveArgs } from './bulk/commands.js';
import { VERSION } from './version.js';
import { ConfigError, resolveConfig } from './config.js';
import type { Config } from './config.js';
import type { Allowlist } from './gate/allowlist.js';
import { exists, writeAtomic } from './bundle/staging.js';
import type { Baseline, BaselineEntry } from './gate/baseline.js';
import type { GateResult } from './gate/gate.js';
import { DEFAULT_FAIL_ON, FAIL_ON, failsAt } from './gate/policy.js';
import { CATEGORIES } from './detect/detector.js';
import type { FailOn } from './gate/policy.js';
import { SpareWorker } from './parallel/pool.js';
import { MAX_THREADS, wantsSpareWorker } from './parallel/spare.js';
import { createProgress } from './progress.js';
import type { Progress } from './progress.js';
import { parseEncoding } from './source/encoding.js';
import type { KeepPolicy } from './detect/policy.js';
import type { TextEncoding } from './source/encoding.js';
import type { ArchiveLimits } from './source/archive.js';
import { incidentCommandModule, packIncidentEntries, packIncidentOptions, slaCommandModule } from './incident/cli.js';

// yargs 17's CommonJS build is one pre-bundled file: loading it costs ~23 ms of start-up, against
// ~90 ms for yargs 18's ESM module graph (cliui, two string-width copies each building an
// Intl.Segmenter at load). Same API (@types/yargs describes 17). See DESIGN.md "Dependencies".
const yargs = createRequire(import.meta.url)('yargs/yargs') as typeof Yargs;

// Start-up time: modules that only some commands or options need (the run pipeline with re2, the
// bundle verifier, bulk archiving, baselines, allowlists, report formats) are imported where they
// are used, so `--help`, `incident`, `sla` and a plain `scan` load only what they run.

/** Everything the CLI needs from its environment. */
export interface CliIo {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly signal?: AbortSignal;
  /** stderr is a terminal: a progress bar may be drawn there (never in CI or with --quiet). */
  readonly isTTY?: boolean;
  /** stdout is a terminal: the text report may use colour (unless NO_COLOR is set). */
  readonly stdoutIsTTY?: boolean;
  /** Terminal width, for the progress bar. */
  readonly columns?: number;
  /** Reads all of standard input (`unmask -`). */
  readonly stdin?: () => Promise<Buffer>;
  /** Told how many files (and bytes) a scan, redact or pack will read, before the first is read. */
  readonly onCollected?: (files: number, bytes: number) => void;
  /** A worker thread started early for scan, redact or pack (see {@link SpareWorker}). */
  readonly spareWorker?: SpareWorker;
}

interface CommonArgs {
  exclude?: string[];
  'include-unscanned'?: string[];
  patterns?: string[];
  only?: string[];
  'key-file'?: string;
  concurrency?: number;
  threads?: number;
  'max-file-size'?: number;
  'max-structured-size'?: string;
  encoding?: string;
  images?: 'strip' | 'skip';
  keep?: string[];
  quiet?: boolean;
  verbose?: boolean;
  config?: string | false;
  'max-archive-depth'?: string;
  'max-archive-size'?: string;
  'max-archive-entries'?: string;
  'max-archive-ratio'?: string;
}

const EXAMPLES: Array<[string, string]> = [
  ['$0 scan ./incident', 'report findings; exit 1 on a secret or an unscannable input'],
  ['$0 scan ./incident --fail-on pii --format sarif -o aliscrub.sarif', 'CI gate with a SARIF report (exit code unchanged by -o)'],
  ['$0 baseline create ./incident -o .aliscrub-baseline.json', 'record known findings (key in .aliscrub-baseline.json.key)'],
  ['$0 scan ./incident --baseline .aliscrub-baseline.json', 'fail only on findings not in the baseline'],
  ['$0 pack ./incident --out ticket-123.zip', 'write the ticket-ready bundle'],
  ['$0 redact ./incident --out-dir ./scrubbed', 'write redacted copies to a folder'],
  ['$0 verify ticket-123.zip', 're-check a bundle before attaching it'],
  ['$0 detectors', 'list detectors'],
];

/** A path relative to the working directory when it is below it, otherwise absolute. */
function displayPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Parses `--keep` values into a redaction policy. */
function parseKeep(values: readonly string[] | undefined): KeepPolicy | undefined {
  if (!values || values.length === 0) return undefined;
  const categories: Array<'pii' | 'identifier'> = [];
  const accountIds: string[] = [];
  let privateIps = false;
  for (const v of values) {
    if (v === 'private-ips') privateIps = true;
    else if (v === 'pii' || v === 'identifier') categories.push(v);
    else if (/^account:\d{16}$/.test(v)) accountIds.push(v.slice('account:'.length));
    else throw new UsageError(`--keep: '${v}' is not private-ips, identifier, pii or account:<16-digit id> (secrets cannot be kept)`);
  }
  return { categories, accountIds, privateIps };
}

/** A --max-file-size value in bytes; 0 (no limit) when absent. */
function parseFileSize(v: unknown): number {
  return v === undefined ? 0 : parseSize(v, '--max-file-size', '500MB');
}

/**
 * Archive limits from --max-archive-* over `limits.maxArchive*` in the configuration (schema-checked
 * there); unset ones keep DEFAULT_ARCHIVE_LIMITS. A bad flag value is a usage error naming the flag.
 */
function archiveLimits(args: CommonArgs, config: Config | undefined): Partial<ArchiveLimits> {
  const cl = config?.data.limits;
  const out: { -readonly [K in keyof ArchiveLimits]?: ArchiveLimits[K] } = {};
  const whole = (flag: keyof CommonArgs, v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\s*\d+\s*$/.test(String(v)) || Number(v) < 1) throw new UsageError(`--${flag}: '${String(v)}' is not ${what}`);
    return Number(v);
  };
  out.maxDepth = whole('max-archive-depth', args['max-archive-depth'], 'a whole number of at least 1 (default 3)') ?? cl?.maxArchiveDepth;
  out.maxEntries = whole('max-archive-entries', args['max-archive-entries'], 'a whole number of at least 1 (default 100000)') ?? cl?.maxArchiveEntries;
  const ratio = args['max-archive-ratio'];
  if (ratio !== undefined && !(/^\s*\d+(\.\d+)?\s*$/.test(String(ratio)) && Number(ratio) >= 1))
    throw new UsageError(`--max-archive-ratio: '${String(ratio)}' is not a number of at least 1 (default 200)`);
  out.maxRatio = ratio !== undefined ? Number(ratio) : cl?.maxArchiveRatio;
  const size = args['max-archive-size'] ?? cl?.maxArchiveSize;
  if (size !== undefined) {
    let bytes: number;
    try {
      bytes = parseFileSize(size);
    } catch {
      bytes = 0;
    }
    if (bytes < 1) {
      if (args['max-archive-size'] !== undefined) throw new UsageError(`--max-archive-size: '${String(size)}' is not a size of at least 1 byte (e.g. 2GB)`);
      throw new ConfigError(`${config!.shown}: 'limits.maxArchiveSize' must be a size such as 2GB`);
    }
    out.maxTotalBytes = bytes;
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<ArchiveLimits>;
}

function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('exclude', { type: 'string', array: true, describe: 'glob of files to leave out (repeatable), matched against paths relative to the input root' })
    .option('include-unscanned', { type: 'string', array: true, describe: 'glob of binary files (PDF, pcap, dumps) to bundle unmodified and marked unscanned instead of leaving them out (repeatable); scan still fails for them unless --allow-unscanned' })
    .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to use instead of the built-in detectors (repeatable)' })
    .option('only', { type: 'string', array: true, describe: 'run only these detector ids (repeatable)' })
    .option('key-file', { type: 'string', describe: 'file holding the fingerprint key (>= 16 bytes); same key => same tokens across runs' })
    .option('concurrency', { type: 'number', describe: 'files processed at once (default 4)' })
    .option('threads', { type: 'number', describe: 'worker threads scanning files in parallel; 1 = none; default: one per core when the inputs total 8 MiB or more' })
    .option('max-file-size', { type: 'string', describe: 'leave out files larger than this (e.g. 2GB); default: no limit' })
    .option('max-structured-size', { type: 'string', describe: 'largest JSON/HAR/YAML/XML parsed whole for the key-name rules (default 16MiB; ~30 bytes of memory per byte); larger HARs are left out, others get the text detectors only' })
    .option('encoding', { type: 'string', describe: 'read every text file in this encoding instead of detecting it: utf-8, utf-16le, utf-16be, gb18030 (gbk)' })
    .option('keep', { type: 'string', array: true, describe: 'leave visible: private-ips, identifier, pii, or account:<16-digit id> (repeatable; secrets are always redacted)' })
    .option('images', { choices: ['strip', 'skip'] as const, default: 'strip' as const, describe: 'PNG/JPEG/GIF/WebP: strip metadata and bundle the pixels (unscanned), or leave them out' })
    .option('quiet', { type: 'boolean', alias: 'q', describe: 'print only errors and results (no progress bar)' })
    .option('verbose', { type: 'boolean', alias: 'v', describe: 'print a line per file as it is done (on stderr)' })
    .option('config', { type: 'string', describe: 'configuration file (default: aliscrub.config.json/.yaml in the working directory or above); --no-config: none' })
    .option('max-archive-depth', { type: 'string', describe: 'archives nested deeper than this are refused (archive-depth); 1 = read no archive inside an archive (default 3)' })
    .option('max-archive-size', { type: 'string', describe: 'uncompressed bytes read from one archive, nested ones included, before the rest is refused as archive-bomb (e.g. 2GB; default 4GiB)' })
    .option('max-archive-entries', { type: 'string', describe: 'members read per archive; the rest are refused (too-many-entries; default 100000)' })
    .option('max-archive-ratio', { type: 'string', describe: "largest uncompressed/compressed ratio a member may declare (archive-bomb; default 200)" })
    .conflicts('quiet', 'verbose') as unknown as Argv<T & CommonArgs>;
}

/** The fingerprint key from --key-file, else from the config's keyFile; undefined = random. */
async function explicitKey(args: CommonArgs, io: CliIo, config: Config | undefined): Promise<Buffer | undefined> {
  if (args['key-file']) {
    try {
      return await readFile(path.resolve(io.cwd, args['key-file']));
    } catch {
      throw new UsageError(`--key-file: cannot read ${args['key-file']}`);
    }
  }
  if (config?.keyFile) return (await import('./gate/baseline.js')).readKeyFile(config.keyFile, `${config.shown}: keyFile`);
  return undefined;
}

/** Progress bar and --verbose lines, when wanted; `stop` must be called on every exit path. */
function progressHooks(args: CommonArgs, io: CliIo, log: Logger, label: string): Pick<RunOptions, 'onCollected' | 'onFileDone'> & { stop: () => void } {
  const ci = io.env['CI'] !== undefined && io.env['CI'] !== '' && io.env['CI'] !== 'false' && io.env['CI'] !== '0';
  const bar: Progress | undefined =
    io.isTTY && !ci && !args.quiet && !args.verbose ? createProgress({ write: io.stderr, columns: io.columns, label }) : undefined;
  return {
    onCollected: (files, bytes) => {
      io.onCollected?.(files, bytes);
      if (args.verbose) log.info(`${files} files to process (${(bytes / 1e6).toFixed(1)} MB)`);
      bar?.onCollected(files, bytes);
    },
    onFileDone: (record, bytes) => {
      bar?.onFileDone(record, bytes);
      if (!args.verbose) return;
      if (record.status === 'redacted' || record.status === 'clean') log.info(`done ${record.path} (${record.findings.length} findings)`);
      else if (record.status === 'excluded' || record.status === 'failed') log.info(`not scanned ${record.path}: ${record.reason}`);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * Command-line options merged over the configuration file: a flag wins over the file; lists
 * (--exclude) add to it; --patterns and --only replace the file's patterns and detectors.
 * @param key the fingerprint key when already decided (baseline); otherwise --key-file or keyFile.
 */
async function runOptions(args: CommonArgs & { paths?: string[] }, io: CliIo, log: Logger, config?: Config, key?: Buffer): Promise<RunOptions> {
  key ??= await explicitKey(args, io, config);
  const cd = config?.data;
  let patterns = args.patterns?.map((p) => path.resolve(io.cwd, p));
  if (!patterns && config && (config.packs.length > 0 || cd?.patterns?.builtin === false)) {
    const builtin = cd?.patterns?.builtin === false ? [] : [(await import('./detect/load.js')).BUILTIN_PATTERNS_DIR];
    patterns = [...builtin, ...config.packs];
    if (patterns.length === 0) throw new ConfigError(`${config.shown}: 'patterns.builtin' is false and 'patterns.packs' is empty: no detectors`);
  }
  const detectors = args.only ?? (cd?.detectors?.only ? [...cd.detectors.only] : undefined);
  const disable = args.only ? undefined : cd?.detectors?.disable;
  let maxFileBytes = parseFileSize(args['max-file-size']);
  if (args['max-file-size'] === undefined && cd?.limits?.maxFileSize !== undefined) {
    try {
      maxFileBytes = parseFileSize(cd.limits.maxFileSize);
    } catch {
      throw new ConfigError(`${config!.shown}: 'limits.maxFileSize' must be a size such as 500MB`);
    }
  }
  let maxStructuredBytes: number | undefined;
  if (args['max-structured-size'] !== undefined) {
    maxStructuredBytes = parseSize(args['max-structured-size'], '--max-structured-size', '64MiB');
    if (maxStructuredBytes < 1) throw new UsageError('--max-structured-size: must be at least 1 byte');
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
    exclude: [...(cd?.exclude ?? []), ...(args.exclude ?? [])],
    includeUnscanned: [...(cd?.includeUnscanned ?? []), ...(args['include-unscanned'] ?? [])],
    patterns,
    detectors,
    disable,
    key,
    concurrency: args.concurrency ?? cd?.limits?.concurrency,
    threads: args.threads ?? cd?.limits?.threads,
    spareWorker: io.spareWorker,
    maxFileBytes,
    maxStructuredBytes,
    encoding,
    images: args.images,
    keep: parseKeep(args.keep),
    archiveLimits: archiveLimits(args, config),
    sourceDateEpoch: epoch === undefined ? undefined : Number(epoch),
    log,
    signal: io.signal,
  };
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
    `files: ${t.redacted + t.clean + t.stripped} processed (${t.redacted} redacted, ${t.clean} clean${t.stripped ? `, ${t.stripped} image(s) stripped of metadata, pixels not scanned` : ''}${t.unscanned ? `, ${t.unscanned} binary file(s) bundled unscanned` : ''}), ${out.length} left out${why ? ` (${why})` : ''}${t.excluded - (out.length - t.failed) > 0 ? `, ${t.excluded - (out.length - t.failed)} excluded by --exclude` : ''}`,
    `findings: ${t.findings} (secret ${t.byCategory.secret}, pii ${t.byCategory.pii}, identifier ${t.byCategory.identifier})`,
  ];
}


const FORMATS = ['text', 'json', 'report', 'sarif', 'github'] as const;
type Format = (typeof FORMATS)[number];

interface GateArgs extends CommonArgs {
  paths?: string[];
  'fail-on'?: FailOn;
  'allow-unscanned'?: boolean;
  baseline?: string;
}


/** Checks detector ids named by the config allowlist against the detectors that ran. */
function checkAllowlistIds(config: Config | undefined, known: ReadonlySet<string>, allowlist: typeof Allowlist | undefined): void {
  const spec = config?.data.allowlist;
  if (!spec || !allowlist) return;
  for (const id of allowlist.detectorIds(spec))
    if (!known.has(id)) throw new ConfigError(`${config.shown}: allowlist names detector '${id}', which is not loaded`);
}

interface GateSetup {
  readonly config: Config | undefined;
  /** Progress label. */
  readonly label: string;
  readonly baselineFile?: string;
  /** The key when already decided (baseline create); otherwise --key-file, keyFile, or the baseline's. */
  readonly key?: Buffer;
}

/** Runs a scan through the gate: config, key, baseline, allowlists, threshold. */
async function gatedScan(args: GateArgs, io: CliIo, log: Logger, setup: GateSetup): Promise<{ gate: GateResult; manifest: Manifest }> {
  const { config } = setup;
  const failOn = args['fail-on'] ?? config?.data.policy?.failOn ?? DEFAULT_FAIL_ON;
  const allowUnscanned = args['allow-unscanned'] ?? config?.data.policy?.allowUnscanned ?? false;
  let key = setup.key ?? (await explicitKey(args, io, config));
  let baseline: Baseline | undefined;
  if (setup.baselineFile) {
    const { companionKeyFile, loadBaseline, readKeyFile } = await import('./gate/baseline.js');
    if (!key) {
      const kf = companionKeyFile(setup.baselineFile);
      key = await readKeyFile(kf, `--baseline: the baseline's key ${displayPath(kf, io.cwd)} (or give --key-file / keyFile)`);
    }
    baseline = await loadBaseline(setup.baselineFile, key, displayPath(setup.baselineFile, io.cwd));
  }
  const spec = config?.data.allowlist;
  const Allowlist = config && spec ? (await import('./gate/allowlist.js')).Allowlist : undefined;
  if (config && spec && Allowlist!.usesFingerprints(spec) && !key)
    throw new ConfigError(`${config.shown}: allowlist fingerprints need a stable key: set keyFile, pass --key-file, or use a baseline`);
  const [{ scan }, { DEFAULT_FINDINGS_CAP }, { reportedDetectors }, { evaluateGate, scanRoot }] = await Promise.all([
    import('./run.js'),
    import('./redact/redactor.js'),
    import('./detect/load.js'),
    import('./gate/gate.js'),
  ]);
  const hooks = progressHooks(args, io, log, setup.label);
  let result;
  try {
    // Findings the gate can fail on are all listed (each can be baselined or allowed); the rest
    // are capped per detector and counted. A baseline lists everything it records.
    const uncapped = CATEGORIES.filter((c) => failsAt(c, failOn));
    const findingsCap = setup.label === 'baseline' ? false : { ...DEFAULT_FINDINGS_CAP, uncapped: [...DEFAULT_FINDINGS_CAP.uncapped, ...uncapped] };
    // Each file is inspected for the gate by the thread that scans it, not after the scan, serially.
    result = await scan({ ...(await runOptions(args, io, log, config, key)), onCollected: hooks.onCollected, onFileDone: hooks.onFileDone, findingsCap, inspectForGate: true });
  } finally {
    hooks.stop();
  }
  checkAllowlistIds(config, new Set(reportedDetectors(result.ruleset).map((d) => d.id)), Allowlist);
  const gate = await evaluateGate(result, {
    failOn,
    allowUnscanned,
    root: scanRoot(io.cwd, result.base),
    allowlist: config && spec && Allowlist ? new Allowlist(spec, config.dir) : undefined,
    baseline,
    concurrency: args.concurrency ?? config?.data.limits?.concurrency,
    onUnknownMarkerId: (p, line) => log.warn(`${p}:${line}: aliscrub:allow names an unknown detector id; it allows nothing else`),
    onInconsistent: (p) => log.warn(`${p}: changed after it was scanned; its aliscrub:allow markers were not applied`),
  });
  return { gate, manifest: result.manifest };
}

function colourWanted(io: CliIo): boolean {
  const noColor = io.env['NO_COLOR'];
  return io.stdoutIsTTY === true && (noColor === undefined || noColor === '');
}

/** `aliscrub scan`: report, and exit 1 when the gate fails. */
async function scanCommand(args: GateArgs & { format: Format; output?: string; 'show-suppressed'?: boolean }, io: CliIo): Promise<number> {
  const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
  const config = await resolveConfig(args.config, io.cwd);
  const baselineFile = args.baseline ? path.resolve(io.cwd, args.baseline) : config?.baseline;
  const { gate, manifest } = await gatedScan(args, io, log, { config, label: 'scanning', baselineFile });
  const toFile = args.output !== undefined;
  // Reports are written in ~64 KiB pieces as they are produced: on 100 000 files a report held as
  // one string was over 1 GB of memory.
  let report: Iterable<string>;
  switch (args.format) {
    case 'json':
      // The manifest (schema/manifest.schema.json): every finding, as pack would record it.
      report = manifestChunks(manifest);
      break;
    case 'report':
      report = (await import('./report/json.js')).jsonChunks(gate);
      break;
    case 'sarif':
      report = (await import('./report/sarif.js')).sarifChunks(gate);
      break;
    case 'github':
      report = (await import('./report/github.js')).githubChunks(gate);
      break;
    default:
      report = (await import('./report/text.js')).textChunks(gate, { colour: !toFile && colourWanted(io), showSuppressed: args['show-suppressed'] });
  }
  if (toFile) await writeAtomic(path.resolve(io.cwd, args.output!), report);
  else for (const piece of report) io.stdout(piece);
  // The human summary goes to stderr when stdout does not already carry the text report.
  if (!args.quiet && (toFile || args.format !== 'text')) {
    const { summaryLines: gateSummaryLines } = await import('./report/text.js');
    for (const line of gateSummaryLines(gate)) io.stderr(`${line}\n`);
    if (toFile) io.stderr(`report written: ${displayPath(path.resolve(io.cwd, args.output!), io.cwd)} (${args.format})\n`);
  }
  // Writing a report never changes the exit code.
  return gate.passed ? ExitCode.Ok : ExitCode.Findings;
}

/** `aliscrub baseline create`: record today's findings so later scans fail only on new ones. */
async function baselineCreateCommand(args: GateArgs & { output: string; force?: boolean }, io: CliIo): Promise<number> {
  const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
  const file = path.resolve(io.cwd, args.output);
  if (!file.toLowerCase().endsWith('.json')) throw new UsageError(`--output: ${args.output} must end in .json`);
  if ((await exists(file)) && !args.force) throw new UsageError(`--output: ${args.output} already exists (use --force to replace it)`);
  const config = await resolveConfig(args.config, io.cwd);
  const { baselineEntryPath, existingCompanionKey, newCompanionKey, renderBaseline, writeCompanionKey } = await import('./gate/baseline.js');
  // The key: --key-file, the config's keyFile, or the baseline's companion key file (made once,
  // written only once the scan has succeeded).
  const explicit = await explicitKey(args, io, config);
  const existing = explicit ? undefined : await existingCompanionKey(file);
  const key = explicit ?? existing ?? newCompanionKey();
  const { gate } = await gatedScan(args, io, log, { config, label: 'baseline', key });
  const createdKey = explicit || existing ? undefined : await writeCompanionKey(file, key);
  // One finding object at a time (`gate.findings` builds them all and keeps them), and each file's
  // path as the baseline records it worked out once.
  const { gateFindings } = await import('./gate/gate.js');
  const entryPaths = new Map<string, string>();
  const entries: BaselineEntry[] = [];
  for (const f of gateFindings(gate)) {
    if (f.suppressed) continue;
    let p = entryPaths.get(f.path);
    if (p === undefined) entryPaths.set(f.path, (p = baselineEntryPath(file, path.resolve(gate.root, f.path))));
    entries.push({ path: p, detector: f.detector, fingerprint: f.fingerprint });
  }
  const { text, count: recorded } = renderBaseline(entries, key);
  await writeAtomic(file, text);
  // One path per file with an unsuppressed finding: distinct files, distinct relative paths.
  io.stdout(`baseline written: ${displayPath(file, io.cwd)} (${recorded} findings in ${entryPaths.size} files)\n`);
  if (createdKey) io.stdout(`key written: ${displayPath(createdKey, io.cwd)} (mode 0600; keep it out of bundles; commit it only if your threat model allows)\n`);
  for (const u of gate.unscanned) io.stdout(`${u.path}: not scanned: ${u.reason}\n`);
  // Like redact and pack: an input that could not be scanned is not in the baseline.
  const allowUnscanned = args['allow-unscanned'] ?? config?.data.policy?.allowUnscanned ?? false;
  return gate.unscanned.length > 0 && !allowUnscanned ? ExitCode.Findings : ExitCode.Ok;
}

/**
 * yargs turns a flag given twice into an array, which a flag taking one value (`--out`,
 * `--max-part-size`, `--quiet`) would only trip over later, with an unhelpful message. Every
 * option the running command declares without `array: true` is checked here, before validation
 * and before any work: given twice (under any of its aliases), it is a usage error naming it.
 */
function rejectRepeatedFlags(argv: Record<string, unknown>, y: unknown): void {
  const opts = (y as { getOptions?: () => { key?: Record<string, unknown>; array?: string[] } } | undefined)?.getOptions?.();
  if (!opts?.key) return;
  const repeatable = new Set(opts.array ?? []);
  // The long name when a flag has a short alias (-o / --output): both hold the same array.
  const repeated = Object.keys(opts.key)
    .filter((k) => !repeatable.has(k) && Array.isArray(argv[k]))
    .sort((a, b) => b.length - a.length);
  if (repeated[0] !== undefined) throw new UsageError(`${repeated[0].length > 1 ? '--' : '-'}${repeated[0]}: given more than once`);
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
    // yargs passes its instance as a second argument (not in @types/yargs).
    .middleware(rejectRepeatedFlags as unknown as (args: Record<string, unknown>) => void, true)
    .command(
      'scan <paths..>',
      'report findings without writing anything else (CI gate)',
      (y) =>
        commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
          .option('format', {
            choices: FORMATS,
            default: 'text' as Format,
            describe:
              'text; json: the manifest (schema/manifest.schema.json); report: the gate as JSON (schema/report.schema.json); sarif: SARIF 2.1.0; github: workflow annotations',
          })
          .option('output', { type: 'string', alias: 'o', describe: 'write the report to FILE instead of stdout (exit code unchanged)' })
          .option('fail-on', { choices: FAIL_ON, describe: `lowest category that fails: secret < pii < identifier; any = every finding (default ${DEFAULT_FAIL_ON})` })
          .option('allow-unscanned', { type: 'boolean', describe: 'do not fail because an input could not be scanned (it is still reported)' })
          .option('baseline', { type: 'string', describe: "baseline file from 'aliscrub baseline create': its findings do not fail (key: FILE.key unless --key-file/keyFile)" })
          .option('show-suppressed', { type: 'boolean', describe: 'text format: list suppressed findings too' }),
      async (args) => {
        exitCode = await scanCommand(args as GateArgs & { format: Format; output?: string; 'show-suppressed'?: boolean }, io);
      },
    )
    .command(
      'baseline <action>',
      'record known findings so that scan fails only on new ones',
      (y) =>
        y
          .command(
            'create <paths..>',
            'scan and write a baseline (paths, detector ids and keyed fingerprints; no lines, no values)',
            (yy) =>
              commonOptions(yy.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
                .option('output', { type: 'string', alias: 'o', demandOption: true, describe: 'baseline file (.json); its key goes to FILE.key unless --key-file/keyFile' })
                .option('force', { type: 'boolean', default: false, describe: 'replace an existing baseline' })
                .option('allow-unscanned', { type: 'boolean', describe: 'exit 0 even if some inputs could not be scanned' }),
            async (args) => {
              exitCode = await baselineCreateCommand(args as GateArgs & { output: string; force?: boolean }, io);
            },
          )
          .demandCommand(1, 'name a baseline action: create'),
      () => {},
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
        const config = await resolveConfig(args.config, io.cwd);
        const { redactToDir } = await import('./run.js');
        const hooks = progressHooks(args, io, log, 'redacting');
        const res = await redactToDir({ ...(await runOptions(args, io, log, config)), onCollected: hooks.onCollected, onFileDone: hooks.onFileDone }, args['out-dir'], args.force).finally(hooks.stop);
        io.stdout(`${[`redacted copies written: ${displayPath(res.path, io.cwd)}`, ...summaryLines(res.manifest)].join('\n')}\n`);
        exitCode = leftOut(res.manifest.files).length > 0 ? ExitCode.Findings : ExitCode.Ok;
      },
    )
    .command(
      'pack <paths..>',
      'write the ticket-ready zip bundle',
      (y) =>
        packIncidentOptions(
          commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'files, folders or globs' }))
            .option('out', { type: 'string', demandOption: true, describe: 'bundle path, ending in .zip (outside every input)' })
            .option('force', { type: 'boolean', default: false, describe: 'replace an existing bundle' })
            .option('level', { type: 'number', describe: 'deflate level 0 (store, fastest, largest) to 9 (smallest, slowest); default 6, as zip -6' }),
        ),
      async (args) => {
        const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
        const config = await resolveConfig(args.config, io.cwd);
        // --incident: validated before anything is scanned; TICKET.md and the incident file are added scrubbed.
        const extraEntries = await packIncidentEntries(args, io.cwd);
        const { pack } = await import('./run.js');
        const hooks = progressHooks(args, io, log, 'packing');
        const res = await pack({ ...(await runOptions(args, io, log, config)), onCollected: hooks.onCollected, onFileDone: hooks.onFileDone, extraEntries, zipLevel: args.level }, args.out, args.force).finally(hooks.stop);
        io.stdout(
          `${[`bundle written: ${displayPath(res.path, io.cwd)} (${res.bytes} bytes, sha256 ${res.sha256})`, ...summaryLines(res.manifest)].join('\n')}\n`,
        );
        exitCode = leftOut(res.manifest.files).length > 0 ? ExitCode.Findings : ExitCode.Ok;
      },
    )
    .command(
      'archive <paths..>',
      'one bundle per incident (each subfolder or archive of a root), resumable, with index.json/index.csv',
      (y) =>
        commonOptions(y.positional('paths', { type: 'string', array: true, describe: 'root folders of incidents, or incident archives' }))
          .option('out', { type: 'string', demandOption: true, describe: 'output folder for bundles and the index (outside every input)' })
          .option('state', { type: 'string', describe: 'folder of per-incident keys and maps (default $XDG_STATE_HOME/aliscrub or ~/.local/state/aliscrub)' })
          .option('jobs', { type: 'number', describe: 'incidents processed at once (default 2)' })
          .option('incident-glob', { type: 'string', array: true, describe: 'only incidents whose name matches (repeatable)' })
          .option('max-part-size', { type: 'string', describe: 'split a bundle into self-contained parts of at most this size (e.g. 20MB)' })
          .option('split-oversized', { type: 'boolean', describe: 'with --max-part-size: cut a text file larger than a part into line-aligned pieces (app.log.001, ...); without it such a file is reported' })
          .option('pseudonyms', { choices: ['tokens', 'shape'] as const, describe: 'tokens (default); shape: IPv4 -> 240.0.0.0/4, e-mail -> user-<hex>@example.invalid' })
          .option('force', { type: 'boolean', default: false, describe: 'redo every incident, even unchanged ones' }),
      async (args) => {
        const log = createLogger((l) => io.stderr(`${l}\n`), { quiet: args.quiet });
        const config = await resolveConfig(args.config, io.cwd);
        const { archiveCommand } = await import('./bulk/commands.js');
        exitCode = await archiveCommand(args as unknown as ArchiveArgs, io, await runOptions({ ...args, 'key-file': undefined }, io, log, config), log);
      },
    )
    .command(
      'unmask <file>',
      "replace tokens in a support reply with the original values from this machine's incident map",
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'the reply (text), or - for standard input' })
          .option('incident', { type: 'string', demandOption: true, describe: 'incident name (folder or archive name)' })
          .option('state', { type: 'string', describe: 'state folder (default as for archive)' }),
      async (args) => {
        const { unmaskCommand } = await import('./bulk/commands.js');
        exitCode = await unmaskCommand(args as { incident: string; file: string; state?: string }, io);
      },
    )
    .command(
      'forget',
      "delete an incident's key and map (its tokens can no longer be unmasked)",
      (y) =>
        y
          .option('incident', { type: 'string', demandOption: true, describe: 'incident name' })
          .option('state', { type: 'string', describe: 'state folder (default as for archive)' }),
      async (args) => {
        const { forgetCommand } = await import('./bulk/commands.js');
        exitCode = await forgetCommand(args as { incident: string; state?: string }, io);
      },
    )
    .command(incidentCommandModule({ cwd: io.cwd, clock: () => new Date(), stdout: io.stdout, stderr: io.stderr }, (c) => (exitCode = c)))
    .command(slaCommandModule({ cwd: io.cwd, clock: () => new Date(), stdout: io.stdout, stderr: io.stderr }, (c) => (exitCode = c)))
    .command(
      'verify <bundle>',
      'recompute every hash in a bundle and rescan every entry',
      (y) =>
        y
          .positional('bundle', { type: 'string', demandOption: true, describe: 'a .zip from pack or a folder from redact' })
          .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to rescan with' }),
      async (args) => {
        const { verifyBundle } = await import('./verify.js');
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
          .option('patterns', { type: 'string', array: true, describe: 'pattern file or folder to list' })
          .option('config', { type: 'string', describe: "configuration file whose pattern packs and detector choice to list (default: found as for scan); --no-config: none" }),
      async (args) => {
        const config = await resolveConfig(args.config as string | false | undefined, io.cwd);
        const opts = await runOptions({ patterns: args.patterns }, io, createLogger(() => {}), config);
        const { loadRuleset, reportedDetectors } = await import('./detect/load.js');
        // secret-key-value (structured files) is listed last: it has no regex (not in --export-regex).
        const loaded = reportedDetectors(await loadRuleset(opts.patterns, opts.detectors)).filter((d) => !args['export-regex'] || d.spec.pattern !== '');
        const off = opts.disable ?? [];
        for (const id of off) if (!loaded.some((d) => d.id === id)) throw new UsageError(`cannot disable detector '${id}': no such detector loaded`);
        const rs = { detectors: loaded.filter((d) => !off.includes(d.id)) };
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
    .epilogue(
      'Exit codes: 0 clean / all processed; 1 findings at or above --fail-on (scan), unscannable inputs, inputs left out of the output, an incident that failed (archive) or a breached SLA target (sla); 2 usage, configuration, pattern or fatal error.',
    )
    .demandCommand(1, 'name a command: scan, redact, pack, verify, archive, unmask, forget, incident, sla, baseline or detectors')
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .showHelpOnFail(false)
    .wrap(Math.min(110, 110))
    .fail((msg, err) => {
      if (err) throw err;
      usageFailure = msg;
      // Throwing stops yargs here: without it the command handler still runs after a usage error.
      throw new UsageError(msg);
    });

  // yargs renders the whole help text before running any command handler, in case the handler
  // fails later (~100 ms of start-up, a third of scanning one small file). Help is printed only
  // for --help and usage errors here (showHelpOnFail is off), so that render is skipped.
  // Internal API: guarded, and the help tests in test/cli.test.ts cover --help still working.
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
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

/**
 * V8 settings for the CLI's process, workers included. V8 flags are process-wide, so the library
 * leaves its caller's alone. V8 lets a heap grow to up to 4x what survived the last full GC
 * before collecting again; 1.5x took peak RSS on 100 000 small files from ~480 to ~350 MB for a
 * few % more GC time. The flag is read at each GC, so setting it after start-up works
 * (`--max-old-space-size` is not).
 */
const V8_FLAGS = ['--heap-growing-percent=50'];

/**
 * V8 settings for a run that will keep every core busy with its own threads (see {@link main}):
 * no GC helper threads for scavenges and sweeping. A helper can only run by taking a core from a
 * thread that is scanning, and a scavenge or the next GC then waits for it. Concurrent marking
 * stays on: V8 aborts (a failed CHECK) when it is switched off after start-up.
 */
const ALL_CORES_BUSY_FLAGS = ['--no-parallel-scavenge', '--no-concurrent-sweeping'];

/**
 * Mean input file size from which the CLI turns off inlining in V8's optimising compiler (see
 * {@link main}). Measured at the two ends only: it helped at 1.15 MB per file and hurt at ~2 KB;
 * where between them it stops paying is not measured.
 */
const LARGE_FILES_MEAN_BYTES = 64 * 1024;

/**
 * From this many input files on, the run's memory is mostly per-file state (records, names,
 * findings), not buffers: the records grow to the end and are all needed for the manifest, so the
 * CLI lets V8's heap grow only 1.2x past them before a full GC (see {@link main}).
 */
const MANY_FILES = 10_000;

/**
 * From this many input files on, the CLI also asks V8 to favour memory over speed (see
 * {@link main}); it costs ~25 % of a `pack`'s time, so only where the 300 MB target needs it.
 */
const VERY_MANY_FILES = 50_000;

/** Entry point for the `aliscrub` binary: wires the real process into {@link runCli}. */
export async function main(): Promise<void> {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
  const argv = process.argv.slice(2);
  // Started before anything else, so that its start-up overlaps ours; a run without threads stops it.
  const cores = availableParallelism();
  const threaded = wantsSpareWorker(argv, cores, process.cwd());
  // Set before the spare exists, and read by V8 at each GC: they apply to every isolate of the run.
  if (threaded && cores <= MAX_THREADS) for (const flag of ALL_CORES_BUSY_FLAGS) v8.setFlagsFromString(flag);
  const spareWorker = threaded ? new SpareWorker() : undefined;
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `aliscrub scan | head`: a reader that goes away is not a crash; the run finishes quietly.
  let stdoutGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone = true;
  });
  const code = await runCli(argv, {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => {
      if (!stdoutGone) process.stdout.write(t);
    },
    stderr: (t) => process.stderr.write(t),
    signal: controller.signal,
    isTTY: process.stderr.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    columns: process.stderr.columns,
    stdin: async () => {
      const parts: Buffer[] = [];
      for await (const c of process.stdin) parts.push(c as Buffer);
      return Buffer.concat(parts);
    },
    // `--heap-growing-percent=20` from 10 000 files: `pack` of 100 000 files peaked at 314-327 MB
    // with 50 and 281-291 MB with 20 (2 alternated pairs), for ~1.5 s more GC on the main thread
    // in a 105-120 s run; on 30 000 files it saved 22 MB at no visible cost (31.1 vs 31.6 s).
    // `--optimize-for-size` from 50 000: it puts both isolates' GC in its memory-reducing mode
    // and gives worker threads started after it a 1 MiB semi-space instead of 16 MiB, but costs
    // time: pack of 30 000 files 41.9 s with it, 31.1 without; 50 000 files 59.4 against 48.1 s
    // (250 MB without either flag). 100 000 files need it: 305 MB with the heap flag alone,
    // 276-291 MB with both (bench/README.md, session 8). On the 87 files of the 100 MB corpus it
    // cost 10-20 % more CPU (session 6).
    // `--no-turbo-inlining`, for runs of large files: there the time is in RE2, and V8's
    // optimising compiles were ~20 % of all CPU on two threads (perf, 100 MB corpus: 2.7 of 13 s
    // on V8's background threads; each thread's isolate compiles the same functions again).
    // Without inlining they take half as long; 6 alternated pairs: wall 6.06 vs 6.63 s, CPU 11.2
    // vs 12.4 s (medians). On small files the time is in JavaScript, which inlining speeds up:
    // 100 000 files of ~2 KB took 48-52 s with it and 56-58 s without (2 alternated pairs).
    // All three are read when V8 next compiles or collects, so setting them here, before the
    // scan's hot code has run, works.
    // `--optimize-for-size` shapes only isolates created after it: the spare, made before, is
    // stopped, and the pool starts its workers afresh.
    onCollected: (files, bytes) => {
      if (files >= MANY_FILES) v8.setFlagsFromString('--heap-growing-percent=20');
      if (files >= VERY_MANY_FILES) {
        v8.setFlagsFromString('--optimize-for-size');
        void spareWorker?.close();
      }
      if (files > 0 && bytes / files >= LARGE_FILES_MEAN_BYTES) v8.setFlagsFromString('--no-turbo-inlining');
    },
    spareWorker,
  });
  await spareWorker?.close();
  process.exitCode = controller.signal.aborted ? 130 : code;
}

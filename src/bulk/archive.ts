/**
 * `aliscrub archive`: one bundle per incident, resumable, with an index.
 *
 * For each incident (see incidents.ts) the run is staged in a hidden sibling folder of its final
 * path (the pack pipeline: stageBundle), the zip or parts are written there, the incident's map is
 * saved to the state folder, and only then is the bundle renamed into place: `<out>/<name>.zip`,
 * or `<out>/<name>/` holding `<name>-part<i>of<n>.zip` (one rename for the whole set). The index
 * is rewritten after every incident. A rerun skips an incident whose index entry is not `failed`,
 * whose bundle files are there with their recorded sizes, and whose input digest (file metadata,
 * options, ruleset, key check) is unchanged. Before an incident is redone its old bundle is moved
 * out of sight and its index row dropped, so a killed redo leaves nothing that looks current.
 * Incidents run with bounded concurrency; one failing does not stop the others.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../errors.js';
import { loadRuleset } from '../detect/load.js';
import { Scanner } from '../detect/scanner.js';
import { keepPredicate } from '../detect/policy.js';
import { Fingerprinter } from '../fingerprint.js';
import { redactSmall } from '../redact/redactor.js';
import { stageBundle } from '../run.js';
import type { RunOptions } from '../run.js';
import { Staging, exists, publish } from '../bundle/staging.js';
import { VERSION } from '../version.js';
import { IncidentState } from '../pseudonym/state.js';
import { IncidentMinter } from '../pseudonym/minter.js';
import type { PseudonymMode } from '../pseudonym/minter.js';
import { DEFAULT_ARCHIVE_LIMITS } from '../source/archive.js';
import { MAX_STRUCTURED_BYTES } from '../structure/stage.js';
import { digestIncident, discoverIncidents } from './incidents.js';
import { leftOut } from '../manifest.js';
import { compareNames, isInside } from '../source/collect.js';
import type { Incident } from './incidents.js';
import { readIndex, writeIndex } from './index-file.js';
import type { IndexEntry } from './index-file.js';
import { writeBundles } from './parts.js';

/** Options of {@link archive}. Run options apply to every incident; the key is per incident. */
export interface ArchiveOptions extends Omit<RunOptions, 'inputs' | 'key' | 'tokenMinter' | 'onCollected' | 'onFileDone'> {
  /** Roots (each immediate subfolder or archive is an incident) or archives (one incident each). */
  readonly inputs: readonly string[];
  /** Output folder for bundles, index.json and index.csv (outside every input). */
  readonly outDir: string;
  /** Folder of per-incident keys and maps (outside every input and the output). */
  readonly stateDir: string;
  /** Only incidents whose name matches one of these globs. */
  readonly incidentGlob?: readonly string[];
  /** Incidents processed at once. @default 2 */
  readonly jobs?: number;
  /** Split a bundle into parts of at most this many bytes; 0/undefined = one zip. */
  readonly maxPartBytes?: number;
  /** With parts: cut a text file that alone exceeds a part into line-aligned pieces (see parts.ts). */
  readonly splitOversized?: boolean;
  /** `tokens` (default): typed tokens; `shape`: IPv4/e-mail pseudonyms that keep their shape. */
  readonly pseudonyms?: PseudonymMode;
  /** Redo every incident even when unchanged. */
  readonly force?: boolean;
  /** Called once the work is known: incidents to process and their input bytes. */
  readonly onPlanned?: (incidents: number, bytes: number) => void;
  /** Input bytes processed so far (any incident, completion order). */
  readonly onBytes?: (bytes: number) => void;
  /** Called as each incident finishes or is found unchanged. */
  readonly onIncident?: (outcome: IncidentOutcome) => void;
  /** Test hook: size of the IPv4 pseudonym space (forces collisions). */
  readonly ipv4Space?: number;
}

/** What happened to one incident in this run. */
export interface IncidentOutcome {
  readonly entry: IndexEntry;
  /** `done`: processed now; `unchanged`: skipped, its bundle is up to date. */
  readonly action: 'done' | 'unchanged';
}

/** What {@link archive} returns. */
export interface ArchiveResult {
  /** Absolute output folder. */
  readonly outDir: string;
  /** This run's incidents, sorted by name. */
  readonly outcomes: readonly IncidentOutcome[];
  /** Root entries that are not incidents (plain files, not matching --incident-glob). */
  readonly ignored: number;
}

/** A file-system-safe bundle name (the redacted incident name; no separators, no leading dot). */
function bundleName(redacted: string): string {
  return redacted.replace(/[/\\\0]/g, '_').replace(/^\./, '_');
}

/**
 * Packages every incident into its own bundle under `outDir`, with index.json and index.csv.
 * @throws UsageError for bad options or paths (before anything is written)
 */
export async function archive(opts: ArchiveOptions): Promise<ArchiveResult> {
  const jobs = opts.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError('--jobs: must be a whole number of at least 1');
  if (opts.maxPartBytes !== undefined && (!Number.isFinite(opts.maxPartBytes) || opts.maxPartBytes < 0)) throw new UsageError('--max-part-size: must be a size such as 20MB');
  if (opts.maxPartBytes && opts.maxPartBytes < 32_000) throw new UsageError('--max-part-size: must be at least 32KB (each part carries its own manifest)');
  if (opts.splitOversized && !opts.maxPartBytes) throw new UsageError('--split-oversized: needs --max-part-size');
  const mode: PseudonymMode = opts.pseudonyms ?? 'tokens';
  const { incidents, ignored } = await discoverIncidents(opts.inputs, opts.cwd, opts.incidentGlob);
  const outDir = path.resolve(opts.cwd, opts.outDir);
  const stateDir = path.resolve(opts.cwd, opts.stateDir);
  for (const inc of incidents) {
    const root = path.dirname(inc.path);
    if (isInside(outDir, inc.path) || isInside(inc.path, outDir)) throw new UsageError(`--out: ${opts.outDir} and the input ${inc.kind} #${incidents.indexOf(inc) + 1} overlap`);
    if (isInside(stateDir, inc.path) || isInside(stateDir, root)) throw new UsageError('--state: the state folder must lie outside every input (it holds the keys and maps)');
  }
  if (isInside(stateDir, outDir) || isInside(outDir, stateDir)) throw new UsageError('--state: the state folder and --out must not lie inside each other');

  const ruleset = await loadRuleset(opts.patterns, opts.detectors);
  const detectors = opts.disable?.length ? ruleset.detectors.filter((d) => !opts.disable!.includes(d.id)) : ruleset.detectors;
  const nameScanner = new Scanner(detectors, true, keepPredicate(opts.keep));
  const salt = JSON.stringify({
    v: VERSION,
    ruleset: ruleset.sha256,
    exclude: opts.exclude ?? [],
    detectors: opts.detectors ?? null,
    disable: opts.disable ?? null,
    keep: opts.keep ?? null,
    images: opts.images ?? 'strip',
    encoding: opts.encoding ?? null,
    maxFileBytes: opts.maxFileBytes ?? 0,
    maxStructuredBytes: opts.maxStructuredBytes ?? MAX_STRUCTURED_BYTES,
    // The effective limits (as run.ts applies them): no limits, {} and the defaults spelled out
    // are the same run and must give the same digest.
    archiveLimits: { ...DEFAULT_ARCHIVE_LIMITS, ...opts.archiveLimits },
    epoch: opts.sourceDateEpoch ?? null,
    pseudonyms: mode,
    maxPartBytes: opts.maxPartBytes ?? 0,
    splitOversized: opts.splitOversized ?? false,
  });

  const index = await readIndex(outDir);
  interface Planned {
    readonly inc: Incident;
    readonly state: IncidentState;
    readonly name: string;
    readonly digest: string;
    readonly bytes: number;
  }
  const todo: Planned[] = [];
  const outcomes: IncidentOutcome[] = [];
  for (const inc of incidents) {
    opts.signal?.throwIfAborted();
    const state = (await IncidentState.open(stateDir, inc.id, true))!;
    const minter = new IncidentMinter(state, mode, opts.ipv4Space);
    const name = bundleName(redactSmall(nameScanner, new Fingerprinter(state.key), Buffer.from(inc.id), minter.mint).output.toString('utf8'));
    const d = await digestIncident(inc, `${salt}\0${state.keyCheck()}`);
    const prev = index.get(name);
    if (!opts.force && prev && prev.status !== 'failed' && prev.inputDigest === d.digest && (await bundlesPresent(outDir, prev))) {
      outcomes.push({ entry: prev, action: 'unchanged' });
      opts.onIncident?.({ entry: prev, action: 'unchanged' });
      continue;
    }
    todo.push({ inc, state, name, digest: d.digest, bytes: d.bytes });
  }
  await mkdirOut(outDir);
  opts.onPlanned?.(todo.length, todo.reduce((n, t) => n + t.bytes, 0));

  let writing: Promise<void> = Promise.resolve();
  const saveIndex = (): Promise<void> => (writing = writing.then(() => writeIndex(outDir, index.values(), VERSION)));
  const limit = pLimit(jobs);
  const settled = await Promise.allSettled(
    todo.map((t) =>
      limit(async () => {
        opts.signal?.throwIfAborted();
        // The old bundle stops looking current before the redo starts: moved out of sight, then
        // dropped from the index, so an interrupted run (even kill -9) leaves nothing that claims
        // to be up to date for this incident, and the rerun redoes it.
        await retireBundle(outDir, t.name);
        if (index.delete(t.name)) await saveIndex();
        const entry = await processIncident(opts, t.inc, t.state, t.name, t.digest, outDir, mode);
        index.set(entry.incident, entry);
        await saveIndex();
        outcomes.push({ entry, action: 'done' });
        opts.onIncident?.({ entry, action: 'done' });
      }),
    ),
  );
  await writing;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  if (todo.length === 0) await saveIndex();
  await writing;
  outcomes.sort((a, b) => compareNames(a.entry.incident, b.entry.incident));
  return { outDir, outcomes, ignored };
}

async function mkdirOut(dir: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
}

/** True when every recorded bundle file exists with its recorded size. */
async function bundlesPresent(outDir: string, e: IndexEntry): Promise<boolean> {
  if (e.bundles.length === 0) return false;
  for (const b of e.bundles) {
    const st = await stat(path.join(outDir, ...b.file.split('/'))).catch(() => undefined);
    if (!st || st.size !== b.bytes) return false;
  }
  return true;
}

/**
 * Takes an incident's existing bundle (`<name>.zip` or the `<name>/` folder of parts) out of
 * sight: each is renamed to a hidden `.NAME.zip.aliscrub-old-*` name in one step (the parts
 * vanish together), then deleted. A leftover from a kill is removed by {@link removeStale}.
 */
async function retireBundle(outDir: string, name: string): Promise<void> {
  for (const p of [path.join(outDir, `${name}.zip`), path.join(outDir, name)]) {
    if (!(await exists(p))) continue;
    const aside = path.join(outDir, `.${name}.zip.aliscrub-old-${randomBytes(6).toString('hex')}`);
    await rename(p, aside);
    await rm(aside, { recursive: true, force: true });
  }
}

/** Removes staging folders left by an interrupted run for this bundle name. */
async function removeStale(outDir: string, name: string): Promise<void> {
  const prefix = `.${name}.zip.aliscrub-`;
  for (const n of await readdir(outDir).catch(() => [] as string[])) if (n.startsWith(prefix)) await rm(path.join(outDir, n), { recursive: true, force: true });
}

/** Bundles one incident; never throws for incident problems (returns a `failed` entry), only on abort. */
async function processIncident(opts: ArchiveOptions, inc: Incident, state: IncidentState, name: string, digest: string, outDir: string, mode: PseudonymMode): Promise<IndexEntry> {
  await removeStale(outDir, name);
  const single = path.join(outDir, `${name}.zip`);
  const folder = path.join(outDir, name);
  for (let attempt = 1; ; attempt++) {
    const minter = new IncidentMinter(state, mode, opts.ipv4Space);
    const staging = await Staging.create(single);
    try {
      const staged = await stageBundle(
        {
          ...opts,
          inputs: [inc.path],
          cwd: opts.cwd,
          key: state.key,
          tokenMinter: minter.mint,
          onFileDone: (_r, bytes) => opts.onBytes?.(bytes),
        },
        staging,
      );
      if (minter.collisions.size > 0 && attempt < 3) {
        // Pseudonym collision: both values get typed tokens from now on; redo the incident.
        for (const fp of minter.collisions) state.demoted.add(fp);
        continue;
      }
      // An incident archive of which nothing could be read is failed, not an empty bundle: no
      // bundle, and the rerun retries it.
      const own = inc.kind === 'archive' ? staged.manifest.files.find((f) => f.path === path.basename(inc.path)) : undefined;
      if (own?.status === 'failed' && staged.manifest.files.every((f) => f.status === 'failed')) throw new Error(`nothing could be read: ${own.message}`);
      const written = await writeBundles(staged, staging.dir, name, { maxPartBytes: opts.maxPartBytes, splitOversized: opts.splitOversized, extra: mode === 'shape' ? { pseudonyms: 'shape' } : undefined });
      // The map first: a published bundle always has its map.
      await state.save();
      if (written.kind === 'single') {
        await publish(written.zips[0]!.path, single);
        await rm(folder, { recursive: true, force: true });
      } else {
        await publish(written.folder!, folder);
        await rm(single, { force: true });
      }
      const t = staged.manifest.totals;
      const leftOutCount = leftOut(staged.manifest.files).length;
      return {
        incident: name,
        source: inc.kind,
        status: leftOutCount > 0 || written.oversized > 0 ? 'partial' : 'ok',
        inputDigest: digest,
        bundles: written.zips.map((z) => ({ file: written.kind === 'single' ? z.name : `${name}/${z.name}`, bytes: z.bytes, sha256: z.sha256 })),
        files: t.files,
        findings: t.findings,
        byCategory: { ...t.byCategory },
        excluded: t.excluded,
        failed: t.failed,
        ...(written.oversized > 0 ? { oversized: written.oversized } : {}),
      };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // No bundle for a failed incident: an old one would look current.
      await rm(single, { force: true });
      if (await exists(folder)) await rm(folder, { recursive: true, force: true });
      const message = ((err as Error)?.message ?? String(err)).split(inc.path).join(`<${inc.kind}>`).split(inc.id).join(name);
      opts.log?.warn(`incident ${name}: failed: ${message}`);
      return {
        incident: name,
        source: inc.kind,
        status: 'failed',
        inputDigest: digest,
        bundles: [],
        files: 0,
        findings: 0,
        byCategory: { secret: 0, pii: 0, identifier: 0 },
        excluded: 0,
        failed: 0,
        message,
      };
    } finally {
      await staging.discard();
    }
  }
}

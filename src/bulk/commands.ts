/**
 * Command handlers for `archive`, `unmask` and `forget`. cli.ts wires them into yargs and passes
 * the environment in ({@link CliIo}); nothing here touches `process`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { parseSize } from '../size.js';
import type { Logger } from '../log.js';
import type { RunOptions } from '../run.js';
import type { CliIo } from '../cli.js';
import { defaultStateDir, forgetIncident, IncidentState } from '../pseudonym/state.js';
import { unmaskText } from '../pseudonym/minter.js';
import type { PseudonymMode } from '../pseudonym/minter.js';
import { archive } from './archive.js';
import { createBulkProgress } from './progress.js';
import type { BulkProgress } from './progress.js';

/** Flags of `archive` beyond the common ones. */
export interface ArchiveArgs {
  out: string;
  state?: string;
  jobs?: number;
  'incident-glob'?: string[];
  'max-part-size'?: string;
  'split-oversized'?: boolean;
  pseudonyms?: PseudonymMode;
  force?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  'key-file'?: string;
}


/** The state folder: --state, else the documented default from the environment. */
export function stateDirOf(arg: string | undefined, io: Pick<CliIo, 'cwd' | 'env'>): string {
  return arg ? path.resolve(io.cwd, arg) : defaultStateDir(io.env);
}

/** Runs `aliscrub archive`; returns the exit code (0 all ok, 1 some incident failed or partial). */
export async function archiveCommand(args: ArchiveArgs, io: CliIo, run: RunOptions, log: Logger): Promise<number> {
  if (args['key-file']) throw new UsageError('--key-file: archive keys every incident separately (kept in --state); it takes no key file');
  const ci = io.env['CI'] !== undefined && io.env['CI'] !== '' && io.env['CI'] !== 'false' && io.env['CI'] !== '0';
  const bar: BulkProgress | undefined = io.isTTY && !ci && !args.quiet && !args.verbose ? createBulkProgress({ write: io.stderr, columns: io.columns }) : undefined;
  const started = Date.now();
  let result;
  try {
    result = await archive({
      ...run,
      inputs: run.inputs,
      outDir: args.out,
      stateDir: stateDirOf(args.state, io),
      incidentGlob: args['incident-glob'],
      jobs: args.jobs,
      maxPartBytes: args['max-part-size'] === undefined ? undefined : parseSize(args['max-part-size'], '--max-part-size', '20MB'),
      splitOversized: args['split-oversized'],
      pseudonyms: args.pseudonyms,
      force: args.force,
      onPlanned: (n, bytes) => {
        if (args.verbose) log.info(`${n} incident(s) to process (${(bytes / 1e6).toFixed(1)} MB)`);
        bar?.onPlanned(n, bytes);
      },
      onBytes: (n) => bar?.onBytes(n),
      onIncident: (o) => {
        if (o.action === 'done') bar?.onIncidentDone();
        if (args.verbose) log.info(`incident ${o.entry.incident}: ${o.action === 'unchanged' ? 'unchanged, skipped' : o.entry.status}`);
      },
    });
  } finally {
    bar?.stop();
  }
  const n = (s: string): number => result.outcomes.filter((o) => o.entry.status === s).length;
  const unchanged = result.outcomes.filter((o) => o.action === 'unchanged').length;
  const lines = [`archive written: ${result.outDir} (index.json, index.csv)`];
  for (const o of result.outcomes) {
    const e = o.entry;
    const what = e.status === 'failed' ? `failed: ${e.message ?? ''}` : `${e.bundles.map((b) => b.file).join(', ')} (${e.findings} findings${e.excluded + e.failed > 0 ? `, ${e.excluded + e.failed} left out` : ''}${e.oversized ? `, ${e.oversized} file(s) larger than --max-part-size` : ''})`;
    lines.push(`  ${e.incident}: ${e.status}${o.action === 'unchanged' ? ' (unchanged)' : ''} ${what}`);
  }
  lines.push(`incidents: ${result.outcomes.length} (${n('ok')} ok, ${n('partial')} partial, ${n('failed')} failed; ${unchanged} unchanged, skipped) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  io.stdout(`${lines.join('\n')}\n`);
  const globs = args['incident-glob'] ?? [];
  if (globs.length > 0 && result.outcomes.length === 0) {
    // Nothing was packaged: most likely a typo in the glob.
    log.warn(`no incident matches --incident-glob ${globs.map((g) => `'${g}'`).join(', ')}`);
    return ExitCode.Findings;
  }
  return n('failed') + n('partial') > 0 ? ExitCode.Findings : ExitCode.Ok;
}

/** Runs `aliscrub unmask`: prints the reply with tokens replaced; exit 2 without a map. */
export async function unmaskCommand(args: { incident: string; file: string; state?: string }, io: CliIo): Promise<number> {
  const stateDir = stateDirOf(args.state, io);
  const state = await IncidentState.open(stateDir, args.incident, false);
  if (!state || !(await state.hasMap())) throw new UsageError(`unmask: no map for this incident in ${stateDir} (run 'aliscrub archive' for it first, on this machine)`);
  let input: Buffer;
  if (args.file === '-' || args.file === '') {
    if (!io.stdin) throw new UsageError('unmask: reading standard input is not available here');
    input = await io.stdin();
  } else {
    input = await readFile(path.resolve(io.cwd, args.file)).catch(() => {
      throw new UsageError(`unmask: cannot read ${args.file}`);
    });
  }
  const r = unmaskText(input.toString('utf8'), state.entries);
  io.stdout(r.text);
  io.stderr(`unmasked: ${r.replaced} replacement(s)${r.unknown > 0 ? `; ${r.unknown} token(s) not in this incident's map, left as they are` : ''}\n`);
  return ExitCode.Ok;
}

/** Runs `aliscrub forget`: deletes the incident's key and map. */
export async function forgetCommand(args: { incident: string; state?: string }, io: CliIo): Promise<number> {
  const had = await forgetIncident(stateDirOf(args.state, io), args.incident);
  io.stdout(had ? 'forgotten: the key and map of this incident are deleted; its tokens can no longer be unmasked\n' : 'nothing to forget: no state for this incident\n');
  return ExitCode.Ok;
}

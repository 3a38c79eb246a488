/**
 * yargs wiring for the incident commands: `incident init|render`, `sla`, and the `--incident`
 * options of `pack`. Handlers call commands.ts with explicit I/O; src/cli.ts mounts these.
 * commands.ts, load.ts and ticket.ts are imported when a handler runs, so that other commands do
 * not pay for loading them at start-up.
 */
import type { Argv, CommandModule } from 'yargs';
import type { Manifest } from '../manifest.js';
import type { IncidentIo } from './commands.js';
import type { LangOption } from './types.js';
import { UsageError } from '../errors.js';

const LANGS = ['en', 'zh-CN', 'both'] as const;

/** Sets the command's exit code (src/cli.ts owns it). */
export type SetExit = (code: number) => void;

interface PolicyArgs {
  'sla-policy'?: string;
  'classification-policy'?: string;
}

function policyOptions<T>(y: Argv<T>): Argv<T & PolicyArgs> {
  return y
    .option('sla-policy', { type: 'string', describe: 'SLA policy file replacing policy/sla.json (your contract\'s targets)' })
    .option('classification-policy', { type: 'string', describe: 'classification rules replacing policy/classification.json' }) as unknown as Argv<T & PolicyArgs>;
}

/** `aliscrub incident <init|render>`. */
export function incidentCommandModule(io: IncidentIo, setExit: SetExit): CommandModule {
  return {
    command: 'incident <action>',
    describe: 'incident file: write a template, or render the ticket draft TICKET.md',
    builder: (y) =>
      y
        .command(
          'init [file]',
          'write a commented incident.yaml template (refuses to replace a file without --force)',
          (yy) =>
            yy
              .positional('file', { type: 'string', default: 'incident.yaml', describe: 'where to write it' })
              .option('force', { type: 'boolean', default: false, describe: 'replace an existing file' }),
          async (args) => {
            const { incidentInit } = await import('./commands.js');
            setExit(await incidentInit({ file: args.file, force: args.force }, io));
          },
        )
        .command(
          'render <file>',
          'print TICKET.md (scrubbed) for an incident file',
          (yy) =>
            policyOptions(
              yy
                .positional('file', { type: 'string', demandOption: true, describe: 'incident.yaml or .json' })
                .option('lang', { choices: LANGS, describe: 'en, zh-CN or both (default: both for cn accounts, en for intl)' })
                .option('manifest', { type: 'string', describe: 'manifest.json of the evidence (redact/pack output) for the evidence summary' })
                .option('now', { type: 'string', describe: 'the instant to report for, ISO 8601 with offset (default: the manifest\'s createdAt, else the clock)' })
                .option('out', { type: 'string', alias: 'o', describe: 'write TICKET.md to FILE instead of stdout' })
                .option('force', { type: 'boolean', default: false, describe: 'replace an existing --out file' })
                .option('key-file', { type: 'string', describe: 'fingerprint key for the scrub (same key as pack: same tokens)' }),
            ),
          async (args) => {
            const { incidentRender, readKey } = await import('./commands.js');
            const key = args['key-file'] ? await readKey(args['key-file'], io.cwd) : undefined;
            setExit(
              await incidentRender(
                {
                  file: args.file,
                  lang: args.lang as LangOption | undefined,
                  manifest: args.manifest,
                  now: args.now,
                  out: args.out,
                  force: args.force,
                  slaPolicy: args['sla-policy'],
                  classificationPolicy: args['classification-policy'],
                  ...(key ? { key } : {}),
                },
                io,
              ),
            );
          },
        )
        .demandCommand(1, 'name an incident action: init or render'),
    handler: () => {},
  };
}

/** `aliscrub sla <file>`. */
export function slaCommandModule(io: IncidentIo, setExit: SetExit): CommandModule {
  return {
    command: 'sla <file>',
    describe: 'print the SLA clock and breaches of an incident file (exit 1 when a target is breached)',
    builder: (y) =>
      policyOptions(
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'incident.yaml or .json' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text or json' })
          .option('now', { type: 'string', describe: 'the instant to report for, ISO 8601 with offset (default: the clock)' }),
      ),
    handler: async (args) => {
      const a = args as unknown as PolicyArgs & { file: string; format: 'text' | 'json'; now?: string };
      const { slaCommand } = await import('./commands.js');
      setExit(await slaCommand({ file: a.file, format: a.format, now: a.now, slaPolicy: a['sla-policy'], classificationPolicy: a['classification-policy'] }, io));
    },
  };
}

/** The `pack` options for an incident. */
export interface PackIncidentArgs extends PolicyArgs {
  incident?: string;
  lang?: LangOption;
  now?: string;
}

/** Adds `--incident`, `--lang`, `--now` and the policy options to `pack`. */
export function packIncidentOptions<T>(y: Argv<T>): Argv<T & PackIncidentArgs> {
  return policyOptions(
    y
      .option('incident', { type: 'string', describe: 'incident file: adds TICKET.md and the scrubbed incident file to the bundle' })
      .option('lang', { choices: LANGS, describe: 'TICKET.md language with --incident: en, zh-CN or both (default: both for cn, en for intl)' })
      .option('now', { type: 'string', describe: 'with --incident: the instant TICKET.md reports for (default: the manifest\'s createdAt)' }),
  ) as unknown as Argv<T & PackIncidentArgs>;
}

/**
 * For `pack --incident`: validates the incident file and policies before anything is scanned
 * (a bad file is exit 2 with nothing written) and returns the `extraEntries` hook for pack.
 */
export async function packIncidentEntries(args: PackIncidentArgs, cwd: string): Promise<((m: Manifest, scrub: (data: Buffer) => Buffer) => Promise<Array<{ name: string; data: Buffer }>>) | undefined> {
  if (!args.incident) {
    for (const flag of ['lang', 'now', 'sla-policy', 'classification-policy'] as const)
      if (args[flag] !== undefined) throw new UsageError(`--${flag} needs --incident`);
    return undefined;
  }
  const [{ loadIncident }, { incidentBundleEntries, loadPolicies, parseNow }] = await Promise.all([import('./load.js'), import('./ticket.js')]);
  const loaded = await loadIncident(args.incident, cwd);
  const policies = await loadPolicies(cwd, { sla: args['sla-policy'], classification: args['classification-policy'] });
  const now = args.now !== undefined ? parseNow(args.now) : undefined;
  return async (manifest, scrub) => incidentBundleEntries(loaded, policies, manifest, async (b) => scrub(b), { ...(args.lang ? { lang: args.lang } : {}), ...(now !== undefined ? { now } : {}) });
}

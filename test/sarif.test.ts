/**
 * SARIF 2.1.0 output for a multi-file fixture: valid against the official schema (shipped in
 * @microsoft/sarif-multitool-linux, checked with ajv) and clean under the official validator
 * (`Sarif.Multitool validate` with the SARIF and GitHub rule sets), shaped as the issue asks
 * (rules with tags, relative URIs, regions, partialFingerprints), and free of planted values.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { readValueList } from './helpers/canaries.js';
import { FIXTURES } from './helpers/paths.js';
import { leakedValues, tree } from './helpers/tree.js';

const require = createRequire(import.meta.url);
const MULTITOOL = require('@microsoft/sarif-multitool-linux') as string;
const SARIF_SCHEMA = path.join(path.dirname(MULTITOOL), 'sarif-2.1.0.json');
const GATE = path.join(FIXTURES, 'gate');
const CANARIES = readValueList(path.join(GATE, 'canaries.txt'));

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

interface SarifRegion {
  startLine: number;
  startColumn: number;
  endLine?: number;
  endColumn: number;
}
interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: SarifRegion } }>;
  partialFingerprints: Record<string, string>;
  suppressions?: Array<{ kind: string }>;
}
interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string };
  properties: { tags: string[]; 'security-severity': string };
}
interface SarifLog {
  version: string;
  runs: Array<{
    tool: { driver: { name: string; version: string; rules: SarifRule[] } };
    columnKind: string;
    results: SarifResult[];
    invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications?: Array<{ level: string; message: { text: string } }> }>;
  }>;
}

/**
 * Validator rules that only give notes and that we do not follow on purpose:
 * SARIF2002 message arguments (GitHub's GH1007 wants plain message.text instead),
 * SARIF2003 version-control provenance (not known to a file scan),
 * SARIF2006 URIs that cannot be fetched (no network here),
 * SARIF2009 conventional rule ids like ABC1234 (detector ids are the stable public ids),
 * SARIF2010/SARIF2011 code snippets and context regions (they would copy the secret).
 */
const ACCEPTED_NOTES = new Set(['SARIF2002', 'SARIF2003', 'SARIF2006', 'SARIF2009', 'SARIF2010', 'SARIF2011']);

function validateWithSchema(log: unknown): string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(SARIF_SCHEMA, 'utf8')) as object);
  if (validate(log)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

/** Runs the official validator; returns its findings as `RULE level` strings. */
function multitool(file: string): { errors: string[]; notes: string[]; raw: string } {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-sarif-')), 'validation.sarif');
  const r = spawnSync(MULTITOOL, ['validate', file, '--output', out, '--log', 'ForceOverwrite', '--rule-kind', 'Sarif;Gh', '--level', 'Error;Warning;Note'], {
    encoding: 'utf8',
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
  });
  if (r.status !== 0) throw new Error(`Sarif.Multitool failed (${r.status}): ${r.stdout}${r.stderr}`);
  const log = JSON.parse(readFileSync(out, 'utf8')) as { runs: Array<{ results?: Array<{ ruleId: string; level?: string }> }> };
  const results = log.runs.flatMap((run) => run.results ?? []);
  return {
    errors: results.filter((x) => (x.level ?? 'warning') !== 'note').map((x) => `${x.ruleId} ${x.level ?? 'warning'}`),
    notes: results.filter((x) => x.level === 'note').map((x) => x.ruleId),
    raw: r.stdout,
  };
}

describe('SARIF 2.1.0', () => {
  let text = '';
  let log: SarifLog;
  let file = '';
  beforeAll(async () => {
    // The validator is a dev dependency: its postinstall only sets the run bit.
    accessSync(MULTITOOL, constants.X_OK);
    const r = await cli(['scan', 'evidence', '--format', 'sarif', '--fail-on', 'pii'], { cwd: GATE });
    expect(r.code).toBe(1);
    text = r.stdout;
    log = JSON.parse(text) as SarifLog;
    file = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-sarif-')), 'aliscrub.sarif');
    writeFileSync(file, text);
  });

  it('is valid against the official SARIF 2.1.0 schema', () => {
    expect(validateWithSchema(log)).toEqual([]);
  });

  it('is clean under the official validator (SARIF and GitHub rules)', () => {
    const v = multitool(file);
    expect(v.errors, v.raw).toEqual([]);
    expect(v.notes.filter((id) => !ACCEPTED_NOTES.has(id)), v.raw).toEqual([]);
  });

  it('holds no planted value', () => {
    expect(leakedValues(text, CANARIES)).toEqual([]);
  });

  it('has one rule per detector, with name, descriptions, help and category tags', () => {
    const run = log.runs[0]!;
    expect(run.columnKind).toBe('unicodeCodePoints');
    const rules = run.tool.driver.rules;
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.name).not.toBe('');
      expect(r.name.toLowerCase()).not.toBe(r.id.toLowerCase());
      expect(r.shortDescription.text.length).toBeGreaterThan(0);
      expect(r.help.text).toContain(`aliscrub:allow ${r.id}`);
      expect(r.properties.tags[0]).toBe('security');
      expect(['secret', 'pii', 'identifier']).toContain(r.properties.tags[1]);
      expect(Number(r.properties['security-severity'])).toBeGreaterThan(0);
    }
    for (const res of run.results) expect(rules[res.ruleIndex]!.id).toBe(res.ruleId);
  });

  it('places results by relative URI and region, with partial fingerprints and suppressions', () => {
    const results = log.runs[0]!.results;
    expect(new Set(results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri))).toEqual(
      new Set(['evidence/config/application.yaml', 'evidence/har/session.har', 'evidence/logs/app.log']),
    );
    for (const r of results) {
      const loc = r.locations[0]!.physicalLocation;
      expect(loc.artifactLocation.uriBaseId).toBeUndefined();
      expect(loc.region.startLine).toBeGreaterThanOrEqual(1);
      expect(loc.region.startColumn).toBeGreaterThanOrEqual(1);
      expect(loc.region.endColumn).toBeGreaterThan((loc.region.endLine ?? loc.region.startLine) === loc.region.startLine ? loc.region.startColumn : 0);
      expect(r.partialFingerprints['aliscrubFingerprint/v1']).toMatch(/^[0-9a-f]{12}:\d+$/);
      expect(r.message.text).toMatch(/fingerprint [0-9a-f]{12}\. The value is not shown\.$/);
    }
    // The e-mail after Chinese text: columns are code points.
    const mail = results.find((r) => r.ruleId === 'email-address')!;
    expect(mail.locations[0]!.physicalLocation.region).toEqual({ startLine: 4, startColumn: 39, endColumn: 61 });
    expect(mail.level).toBe('error'); // --fail-on pii
    expect(results.find((r) => r.ruleId === 'ipv4-address')!.level).toBe('note');
    const suppressed = results.filter((r) => r.suppressions);
    expect(suppressed.length).toBe(3);
    expect(suppressed.every((r) => r.suppressions![0]!.kind === 'inSource')).toBe(true);
  });

  it('reports an input that was not scanned as an error notification, still valid and clean', async () => {
    const dir = tree({ 'ok.log': 'key LTAI5tQ8mZr2XbK9vNc4Wd7P\n', 'bad name.log': Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x0a]) });
    const r = await cli(['scan', '.', '--format', 'sarif'], { cwd: dir });
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout) as SarifLog;
    expect(validateWithSchema(sarif)).toEqual([]);
    const n = sarif.runs[0]!.invocations[0]!.toolExecutionNotifications!;
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({ level: 'error', locations: [{ physicalLocation: { artifactLocation: { uri: 'bad%20name.log' } } }] });
    const f = path.join(dir, '..', `${path.basename(dir)}.sarif`);
    writeFileSync(f, r.stdout);
    const v = multitool(f);
    expect(v.errors, v.raw).toEqual([]);
    expect(r.stdout).not.toContain('LTAI5tQ8mZr2XbK9vNc4Wd7P');
  });
});

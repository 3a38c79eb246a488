/**
 * The GitHub Action (action.yml) and the pre-commit hook (.pre-commit-hooks.yaml), exercised by
 * running the very command lines they hold: the action's scan script under bash with the
 * environment GitHub would give it, and the hook's entry with file names appended.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from './helpers/paths.js';
import { tree as plainTree } from './helpers/tree.js';

/**
 * A temporary repository whose aliscrub.config.yaml loads a few built-in pattern files only:
 * the same command lines run, each without a second of loading every detector.
 */
function tree(files: Record<string, string | Buffer>): string {
  const packs = ['alibaba-keys', 'pii-contact', 'network'].map((f) => JSON.stringify(path.join(ROOT, 'patterns', `${f}.json`)));
  return plainTree({ ...files, 'aliscrub.config.yaml': `patterns:\n  builtin: false\n  packs: [${packs.join(', ')}]\n` });
}

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';

interface Step {
  id?: string;
  name?: string;
  shell?: string;
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Action {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Action;
const hooks = parse(readFileSync(path.join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Array<Record<string, unknown>>;

function step(pred: (s: Step) => boolean): Step {
  const s = action.runs.steps.find(pred);
  if (!s) throw new Error('step not found');
  return s;
}

/** Runs the action's scan step as GitHub would: bash, the step's env with inputs filled in. */
function runScanStep(cwd: string, inputs: Record<string, string>): { status: number | null; outputs: Record<string, string>; stderr: string } {
  const scan = step((s) => s.id === 'scan');
  const outFile = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-gh-')), 'output');
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', GITHUB_OUTPUT: outFile, CI: 'true' };
  for (const [k, expr] of Object.entries(scan.env ?? {})) {
    if (k === 'ALISCRUB') {
      expect(expr).toBe('${{ github.action_path }}/bin/aliscrub.js');
      env[k] = BIN;
      continue;
    }
    const m = /^\$\{\{ inputs\.([a-z-]+) \}\}$/.exec(expr);
    expect(m, `${k}: ${expr}`).not.toBeNull();
    const name = m![1]!;
    expect(action.inputs[name], name).toBeDefined();
    env[k] = inputs[name] ?? action.inputs[name]!.default ?? '';
  }
  const r = spawnSync('bash', ['-e', '-c', scan.run!], { cwd, env, encoding: 'utf8' });
  const outputs: Record<string, string> = {};
  try {
    for (const line of readFileSync(outFile, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) outputs[line.slice(0, i)] = line.slice(i + 1);
    }
  } catch {
    // no outputs written
  }
  return { status: r.status, outputs, stderr: r.stderr };
}

function runGateStep(code: string): number | null {
  const gate = step((s) => s.name === 'Gate');
  return spawnSync('bash', ['-e', '-c', gate.run!], { env: { PATH: process.env['PATH'] ?? '', CODE: code }, encoding: 'utf8' }).status;
}

describe('action.yml (composite GitHub Action)', () => {
  it('is a composite action that scans to SARIF, uploads it, then applies the gate', () => {
    expect(action.runs.using).toBe('composite');
    const uses = action.runs.steps.map((s) => s.uses ?? s.id ?? s.name);
    expect(uses).toEqual(['actions/setup-node@v4', 'Install aliscrub', 'scan', 'github/codeql-action/upload-sarif@v3', 'Gate']);
    const upload = step((s) => (s.uses ?? '').startsWith('github/codeql-action/upload-sarif'));
    expect(upload.if).toContain('always()');
    expect(upload.with?.['sarif_file']).toBe('${{ inputs.sarif-file }}');
    expect(action.inputs['fail-on']?.default).toBe('secret');
    // No workflow expression inside a script: inputs arrive as environment variables only.
    for (const s of action.runs.steps) if (s.run) expect(s.run).not.toContain('${{');
  });

  it('the scan step fails on a secret (exit-code 1) and still writes valid SARIF without the value', () => {
    const dir = tree({ 'evidence/app.log': `ak ${AK}\n`, 'evidence/notes.txt': 'fine\n' });
    const r = runScanStep(dir, { paths: 'evidence' });
    expect(r.status, r.stderr).toBe(0); // the step itself succeeds so the upload can run
    expect(r.outputs['exit-code']).toBe('1');
    const sarif = readFileSync(path.join(dir, 'aliscrub.sarif'), 'utf8');
    const log = JSON.parse(sarif) as { version: string; runs: Array<{ results: Array<{ locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }> };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe('evidence/app.log');
    expect(sarif).not.toContain(AK);
    expect(r.stderr).not.toContain(AK);
    expect(runGateStep(r.outputs['exit-code']!)).toBe(1);
  });

  it('passes (exit-code 0) on clean evidence, honours fail-on, globs, a baseline and allow-unscanned', () => {
    const dir = tree({ 'logs/a.log': 'host 10.2.3.4\n', 'logs/b.txt': `ak ${AK}\n`, 'logs/c.log': Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x0a]) });
    expect(runScanStep(dir, { paths: 'logs/a*.log' }).outputs['exit-code']).toBe('0');
    expect(runScanStep(dir, { paths: 'logs/a*.log', 'fail-on': 'identifier' }).outputs['exit-code']).toBe('1');
    expect(runScanStep(dir, { paths: 'logs/a.log logs/c.log', 'allow-unscanned': 'true' }).outputs['exit-code']).toBe('0');
    const made = spawnSync(process.execPath, [BIN, 'baseline', 'create', 'logs/b.txt', '-o', 'base.json'], { cwd: dir, encoding: 'utf8' });
    expect(made.status).toBe(0);
    expect(runScanStep(dir, { paths: 'logs/b.txt', baseline: 'base.json' }).outputs['exit-code']).toBe('0');
    expect(runGateStep('0')).toBe(0);
    expect(runGateStep('2')).toBe(2);
  });
});

describe('.pre-commit-hooks.yaml', () => {
  it('declares a node hook on text files whose entry is the aliscrub binary', () => {
    expect(hooks).toHaveLength(1);
    const h = hooks[0]!;
    expect(h).toMatchObject({ id: 'aliscrub', language: 'node', types: ['text'] });
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(String(h['entry']).split(' ')[0]).toBe(Object.keys(pkg.bin)[0]);
    // pre-commit installs a node hook from `npm pack`'s stdout, which must be the tarball name
    // alone: the prepare script's banner is kept off it.
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toMatch(/^foreground-scripts=false$/m);
  });

  it('running its entry with staged file names: 1 on a secret, 0 on clean files', () => {
    const entry = String(hooks[0]!['entry']).split(' ');
    const dir = tree({ 'evidence/a.log': `ak ${AK}\n`, 'evidence/b.log': 'fine\n', 'docs/c.md': 'nothing\n' });
    // pre-commit runs `<entry> <files...>` from the repository root; `aliscrub` is the package bin.
    const run = (files: string[]) => spawnSync(process.execPath, [BIN, ...entry.slice(1), ...files], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    const dirty = run(['evidence/a.log', 'evidence/b.log', 'docs/c.md']);
    expect(dirty.status).toBe(1);
    expect(dirty.stdout).toMatch(/^evidence\/a\.log:1:4 alibaba-access-key-id \(secret\) [0-9a-f]{12}$/m);
    expect(dirty.stdout + dirty.stderr).not.toContain(AK);
    expect(run(['evidence/b.log', 'docs/c.md']).status).toBe(0);
  });
});

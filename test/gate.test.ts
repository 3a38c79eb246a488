/**
 * `aliscrub scan` as a CI gate: every exit-code path (0 pass, 1 findings or unscanned inputs,
 * 2 usage/config/pattern errors), --fail-on thresholds, --allow-unscanned, --output never changing
 * the exit code, inline `aliscrub:allow` markers, the JSON report against its shipped schema,
 * text/github output hygiene, and no planted value anywhere.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateReport } from '../src/report/json.js';
import { validateManifest } from '../src/manifest-schema.js';
import type { Manifest } from '../src/manifest.js';
import { createProgress } from '../src/progress.js';
import { cli } from './helpers/cli.js';
import { readValueList } from './helpers/canaries.js';
import { BIN, FIXTURES } from './helpers/paths.js';
import { FAST_PATTERNS, leakedValues, tree } from './helpers/tree.js';

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const AK2 = 'LTAI5tZz9Yy8Xx7Ww6Vv5Uu4';
const EMAIL = 'li.na@corp-mail.cn';
const IP = '10.20.30.40';
const GATE = path.join(FIXTURES, 'gate');
const EVIDENCE = path.join(GATE, 'evidence');
const CANARIES = readValueList(path.join(GATE, 'canaries.txt'));

interface ReportFinding {
  path: string;
  detector: string;
  category: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  fingerprint: string;
  failsGate: boolean;
  suppressed?: string;
}
interface Report {
  gate: { passed: boolean; failing: number; unscanned: number; failOn: string };
  findings: ReportFinding[];
  unscanned: Array<{ path: string; reason: string }>;
  files: Array<{ path: string; status: string; reason?: string }>;
  summary: { suppressed: Record<string, number> };
}

/** The CLI with a small detector set (see FAST_PATTERNS); `cli` itself loads every detector. */
function fcli(argv: string[], opts: { cwd: string; env?: Record<string, string> }) {
  return cli([...argv, ...FAST_PATTERNS], opts);
}

async function jsonScan(args: string[], cwd: string, opts: { full?: boolean } = {}): Promise<{ code: number; report: Report; stdout: string; stderr: string }> {
  const r = await (opts.full ? cli : fcli)(['scan', ...args, '--format', 'report'], { cwd });
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stdout: r.stdout, stderr: r.stderr };
}

describe('exit codes: 0 pass, 1 fail, 2 usage', () => {
  it('0 when clean; 1 on a secret; the default threshold is secret', async () => {
    expect((await fcli(['scan', '.', '--no-config'], { cwd: tree({ 'a.log': 'nothing here\n' }) })).code).toBe(0);
    const secret = await fcli(['scan', '.', '--no-config'], { cwd: tree({ 'a.log': `key ${AK}\n` }) });
    expect(secret.code).toBe(1);
    expect(secret.stdout).toMatch(/^gate: FAIL: 1 finding at or above 'secret'/m);
    // PII and identifiers alone pass the default gate but are still reported.
    const pii = await fcli(['scan', '.', '--no-config'], { cwd: tree({ 'a.log': `mail ${EMAIL} from ${IP}\n` }) });
    expect(pii.code).toBe(0);
    expect(pii.stdout).toMatch(/^a\.log:1:6 email-address \(pii\) [0-9a-f]{12}$/m);
    expect(pii.stdout).toMatch(/^gate: PASS/m);
  });

  it('--fail-on pii / identifier / any move the threshold', async () => {
    const piiOnly = tree({ 'a.log': `mail ${EMAIL}\n` });
    const ipOnly = tree({ 'a.log': `host ${IP}\n` });
    expect((await fcli(['scan', '.', '--fail-on', 'secret'], { cwd: piiOnly })).code).toBe(0);
    expect((await fcli(['scan', '.', '--fail-on', 'pii'], { cwd: piiOnly })).code).toBe(1);
    expect((await fcli(['scan', '.', '--fail-on', 'pii'], { cwd: ipOnly })).code).toBe(0);
    expect((await fcli(['scan', '.', '--fail-on', 'identifier'], { cwd: ipOnly })).code).toBe(1);
    expect((await fcli(['scan', '.', '--fail-on', 'any'], { cwd: ipOnly })).code).toBe(1);
    const { report } = await jsonScan(['.', '--fail-on', 'pii'], ipOnly);
    expect(report.findings.map((f) => [f.detector, f.failsGate])).toEqual([['ipv4-address', false]]);
  });

  it('1 when an input cannot be decoded, is binary or is a special file; 0 with --allow-unscanned', async () => {
    const undecodable = tree({ 'good.log': 'fine\n', 'bad.log': Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x0a]) });
    const r = await fcli(['scan', '.'], { cwd: undecodable });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('bad.log: not scanned: undecodable');
    expect(r.stdout).toMatch(/^gate: FAIL: 1 input not scanned/m);
    const allowed = await fcli(['scan', '.', '--allow-unscanned'], { cwd: undecodable });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('bad.log: not scanned: undecodable');

    const binary = tree({ 'a.log': 'fine\n', 'blob.log': Buffer.from([0x61, 0x00, 0x62, 0x00, 0x00, 0x00, 0x01, 0x02]) });
    expect((await fcli(['scan', '.'], { cwd: binary })).code).toBe(1);

    const special = tree({ 'a.log': 'fine\n' });
    mkfifoSyncSafe(path.join(special, 'pipe'));
    const s = await fcli(['scan', '.'], { cwd: special });
    expect(s.code).toBe(1);
    expect(s.stdout).toContain('pipe: not scanned: special-file');
    // A file left out on purpose is not a failure.
    expect((await fcli(['scan', '.', '--exclude', 'pipe'], { cwd: special })).code).toBe(0);
  });

  it('1 for a screenshot (metadata stripped and scanned, pixels not), 0 with --allow-unscanned', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const dir = tree({ 'a.log': 'fine\n', 'shot.png': png });
    const { code, report } = await jsonScan(['.'], dir);
    expect(code).toBe(1);
    expect(report.unscanned).toEqual([{ path: 'shot.png', status: 'stripped', reason: 'pixels-unscanned' }]);
    expect(validateReport(report)).toEqual([]);
    expect((await fcli(['scan', '.', '--allow-unscanned'], { cwd: dir })).code).toBe(0);
  });

  it('1 when a file is unreadable (permission denied), 0 with --allow-unscanned', (ctx) => {
    const dir = tree({ 'ok.log': 'fine\n', 'locked.log': `key ${AK}\n` });
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'locked.log'), 0o000);
    // root reads any file regardless of mode: run the real binary as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const probe = spawnSync(process.execPath, [BIN, '--version'], { ...asUser, encoding: 'utf8' });
    if (probe.status !== 0) ctx.skip();
    const run = (extra: string[]) => spawnSync(process.execPath, [BIN, 'scan', '.', '--no-config', ...FAST_PATTERNS, ...extra], { cwd: dir, ...asUser, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('locked.log: not scanned: unreadable');
    expect(r.stderr).toContain('locked.log: permission denied');
    const allowed = run(['--allow-unscanned']);
    expect(allowed.status).toBe(0);
    expect(r.stdout + r.stderr + allowed.stdout + allowed.stderr).not.toContain(AK);
  });

  it('--output with findings still exits 1 (and 0 when clean); the report holds no value', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-out-')), 'r.json');
    for (const format of ['json', 'report', 'sarif', 'text', 'github']) {
      const dirty = tree({ 'a.log': `key ${AK}\n` });
      const r = await fcli(['scan', '.', '--format', format, '--output', `${out}.${format}`], { cwd: dirty });
      expect(r.code, format).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/gate: FAIL/);
      expect(readFileSync(`${out}.${format}`, 'utf8')).not.toContain(AK);
    }
    const clean = await fcli(['scan', '.', '--format', 'sarif', '--output', `${out}.clean`], { cwd: tree({ 'a.log': 'ok\n' }) });
    expect(clean.code).toBe(0);
  });

  it('2 for usage, pattern, baseline and config errors, with one line naming the problem', async () => {
    const dir = tree({ 'a.log': `key ${AK}\n`, 'bad.json': '{ nope', 'cfg.yaml': 'policy:\n  failOn: sometimes\n' });
    const cases: Array<[string[], RegExp]> = [
      [['scan', '.', '--fail-on', 'sometimes'], /fail-on/],
      [['scan', '.', '--format', 'xml'], /format/],
      [['scan', '.', '--quiet', '--verbose'], /quiet|verbose/],
      [['scan', 'no/such/dir'], /input path does not exist/],
      [['scan', '.', '--patterns', 'bad.json'], /bad\.json: file: field '\(json\)'/],
      [['scan', '.', '--baseline', 'missing.json', '--key-file', 'a.log'], /--baseline/],
      [['scan', '.', '--config', 'cfg.yaml'], /cfg\.yaml: 'policy\.failOn' must be one of secret, pii, identifier, any/],
      [['scan', '.', '--config', 'nope.yaml'], /nope\.yaml: cannot read the config file/],
      [['baseline', 'create', '.'], /output/],
    ];
    for (const [argv, message] of cases) {
      const r = await fcli(argv, { cwd: dir });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
      expect(r.stderr).not.toContain(AK);
    }
  });

  it('the installed binary: scan --format sarif to stdout exits 1 on a finding', () => {
    const dir = tree({ 'a.log': `key ${AK}\n` });
    const r = spawnSync(process.execPath, [BIN, 'scan', '.', '--format', 'sarif'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', CI: 'true' } });
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { version: string }).version).toBe('2.1.0');
    expect(r.stdout + r.stderr).not.toContain(AK);
  });
});

/** A named pipe (Node has no mkfifo of its own). */
function mkfifoSyncSafe(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error('mkfifo failed');
}

describe('inline aliscrub:allow', () => {
  it('same line, previous line, and a named detector; other detectors and lines still fail', async () => {
    const dir = tree({
      'a.log': [
        `key ${AK} # aliscrub:allow`, // 1: allowed (bare marker, same line)
        '# aliscrub:allow alibaba-access-key-id', // 2
        `key ${AK2}`, // 3: allowed (previous line, named detector)
        `mail ${EMAIL} # aliscrub:allow alibaba-access-key-id`, // 4: NOT allowed (other detector)
        '',
        `key ${AK2}`, // 6: NOT allowed (marker two lines up)
        '',
      ].join('\n'),
    });
    const { code, report } = await jsonScan(['.', '--fail-on', 'pii', '--only', 'alibaba-access-key-id', '--only', 'email-address'], dir);
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.line, f.detector, f.suppressed ?? null])).toEqual([
      [1, 'alibaba-access-key-id', 'inline'],
      [3, 'alibaba-access-key-id', 'inline'],
      [4, 'email-address', null],
      [6, 'alibaba-access-key-id', null],
    ]);
    expect(report.summary.suppressed).toEqual({ inline: 2, config: 0, baseline: 0 });
    expect(report.gate.failing).toBe(2);
  });

  it('a marker with several ids, CRLF lines, and a marker after a multi-byte prefix', async () => {
    const dir = tree({
      'a.log': `日志 ${AK} aliscrub:allow email-address,alibaba-access-key-id\r\nmail ${EMAIL}\r\n`,
    });
    const { code, report } = await jsonScan(['.', '--fail-on', 'pii', '--only', 'alibaba-access-key-id', '--only', 'email-address'], dir);
    expect(report.findings.map((f) => [f.line, f.column, f.endColumn, f.detector, f.suppressed ?? null])).toEqual([
      [1, 4, 28, 'alibaba-access-key-id', 'inline'],
      [2, 6, 6 + EMAIL.length, 'email-address', 'inline'], // previous line names it
    ]);
    expect(code).toBe(0);
  });

  it('an unknown id allows nothing and is warned about without echoing it; a longer word is no marker', async () => {
    const dir = tree({ 'a.log': `key ${AK} aliscrub:allow because-test-data\nkey ${AK2} aliscrub:allowlist\n` });
    const r = await fcli(['scan', '.'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a.log:1: aliscrub:allow names an unknown detector id');
    expect(r.stderr).not.toContain('because-test-data');
    expect(r.stdout).toMatch(/^gate: FAIL: 2 findings/m);
  });

  it('a marker inside a detected value does not allow it', async () => {
    const dir = tree({ 'a.env': 'DB_PASSWORD=aliscrub:allow\n' });
    const { report } = await jsonScan(['.'], dir);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(report.findings.every((f) => f.suppressed === undefined)).toBe(true);
  });

  it('a file changed after it was scanned does not get its markers applied (fail closed)', async () => {
    // Library-level: inspectFile sees a size that differs from the manifest.
    const { inspectFile } = await import('../src/gate/inspect.js');
    const dir = tree({ 'a.log': `key ${AK} # aliscrub:allow\n` });
    const f = { detector: 'alibaba-access-key-id', category: 'secret' as const, line: 1, column: 5, start: 4, end: 28, fingerprint: '000000000000' };
    const ok = await inspectFile(path.join(dir, 'a.log'), 46, [f], new Set(['alibaba-access-key-id']));
    expect(ok.consistent).toBe(true);
    expect(ok.markers).toEqual([{ line: 1, detectors: 'all', unknownId: false }]);
    expect(ok.ends).toEqual([{ endLine: 1, endColumn: 29 }]);
    const changed = await inspectFile(path.join(dir, 'a.log'), 47, [f], new Set());
    expect(changed.consistent).toBe(false);
    expect(changed.markers).toEqual([]);
    const moved = await inspectFile(path.join(dir, 'a.log'), 46, [{ ...f, column: 6 }], new Set());
    expect(moved.consistent).toBe(false);
  });

  it('pack still redacts a finding that an inline marker allows', async () => {
    const dir = tree({ 'a.log': `key ${AK} # aliscrub:allow\n` });
    expect((await fcli(['scan', '.'], { cwd: dir })).code).toBe(0);
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-out-')), 'o');
    expect((await fcli(['redact', '.', '--out-dir', out], { cwd: dir })).code).toBe(0);
    expect(readFileSync(path.join(out, 'evidence', 'a.log'), 'utf8')).toMatch(/^key \[REDACTED:alibaba-access-key-id:[0-9a-f]{12}\] # aliscrub:allow\n$/);
  });
});

describe('documented placeholders', () => {
  it('are never findings', async () => {
    const { code, report } = await jsonScan([path.join(EVIDENCE, 'docs'), '--fail-on', 'any'], EVIDENCE, { full: true });
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('JSON output', () => {
  it('--format json is the manifest: valid against schema/manifest.schema.json, no planted value', async () => {
    const r = await cli(['scan', 'evidence', '--format', 'json'], { cwd: GATE });
    expect(r.code).toBe(1);
    const m = JSON.parse(r.stdout) as Manifest;
    expect(validateManifest(m)).toEqual([]);
    expect(m.files.filter((f) => f.status === 'redacted').map((f) => f.path)).toEqual(['config/application.yaml', 'har/session.har', 'logs/app.log']);
    expect(leakedValues(r.stdout + r.stderr, CANARIES)).toEqual([]);
  });

  it('--format report validates against schema/report.schema.json and holds no planted value', async () => {
    const { code, report, stdout, stderr } = await jsonScan(['evidence', '--fail-on', 'pii'], GATE, { full: true });
    expect(code).toBe(1);
    expect(validateReport(report)).toEqual([]);
    expect(leakedValues(stdout + stderr, CANARIES)).toEqual([]);
    // Paths are relative to the scan root (the working directory here).
    expect([...new Set(report.findings.map((f) => f.path))]).toEqual(['evidence/config/application.yaml', 'evidence/har/session.har', 'evidence/logs/app.log']);
    // Columns and end columns count Unicode characters: the e-mail follows Chinese text.
    const mail = report.findings.find((f) => f.detector === 'email-address')!;
    expect([mail.line, mail.column, mail.endLine, mail.endColumn]).toEqual([4, 39, 4, 39 + 'zhang.wei@corp-mail.cn'.length]);
    expect(report.findings.filter((f) => f.suppressed).map((f) => [f.path, f.line, f.suppressed])).toEqual([
      ['evidence/config/application.yaml', 9, 'inline'],
      ['evidence/config/application.yaml', 9, 'inline'],
      ['evidence/logs/app.log', 5, 'inline'],
    ]);
    expect(report.gate).toMatchObject({ passed: false, failOn: 'pii', unscanned: 0 });
    expect(report.gate.failing).toBe(report.findings.filter((f) => !f.suppressed && f.category !== 'identifier').length);
  });

  it('lists every input, and inputs that were not scanned', async () => {
    const dir = tree({ 'a.log': 'ok\n', 'b.log': Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x0a]), 'skip.bak': 'x\n' });
    const { report } = await jsonScan(['.', '--exclude', '*.bak'], dir);
    expect(validateReport(report)).toEqual([]);
    expect(report.files.map((f) => [f.path, f.status, f.reason ?? null])).toEqual([
      ['a.log', 'scanned', null],
      ['b.log', 'failed', 'undecodable'],
      ['skip.bak', 'excluded', 'excluded'],
    ]);
    expect(report.unscanned).toEqual([{ path: 'b.log', status: 'failed', reason: 'undecodable' }]);
  });
});

describe('text and github output', () => {
  it('groups by file with a summary; colour only on a terminal and never with NO_COLOR', async () => {
    const dir = tree({ 'a.log': `key ${AK}\nkey ${AK2}\n`, 'b.log': `mail ${EMAIL}\n` });
    const plain = await fcli(['scan', '.'], { cwd: dir });
    expect(plain.stdout).toMatch(/^a\.log:1:5 alibaba-access-key-id \(secret\) [0-9a-f]{12}\na\.log:2:5 alibaba-access-key-id \(secret\) [0-9a-f]{12}\n\nb\.log:1:6 email-address \(pii\) [0-9a-f]{12}\n\nfiles: 2 scanned, 0 not scanned\nfindings: 3 \(secret 2, pii 1, identifier 0\)\ngate: FAIL/);
    expect(plain.stdout).not.toContain('\u001b[');
    const tty = async (env: Record<string, string>) => {
      let out = '';
      const { runCli } = await import('../src/cli.js');
      await runCli(['scan', '.', ...FAST_PATTERNS], { cwd: dir, env, stdout: (t) => (out += t), stderr: () => {}, stdoutIsTTY: true });
      return out;
    };
    expect(await tty({})).toContain('\u001b[');
    expect(await tty({ NO_COLOR: '1' })).not.toContain('\u001b[');
  });

  it('--format github prints workflow annotations without values', async () => {
    const dir = tree({ 'dir, with:odd/a.log': `key ${AK}\nmail ${EMAIL}\n` });
    const r = await fcli(['scan', '.', '--format', 'github'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^::error file=dir%2C with%3Aodd\/a\.log,line=1,col=5,endColumn=29,title=aliscrub alibaba-access-key-id::secret value found by alibaba-access-key-id \(fingerprint [0-9a-f]{12}\); the value is not shown$/),
      expect.stringMatching(/^::warning file=dir%2C with%3Aodd\/a\.log,line=2,col=6,endColumn=24,title=aliscrub email-address::pii value/),
    ]);
    expect(r.stdout).not.toContain(AK);
    expect(r.stdout).not.toContain(EMAIL);
  });
});

describe('progress and output hygiene', () => {
  it('draws files, bytes, MB/s and ETA on a terminal, then clears the bar', async () => {
    let out = '';
    const p = createProgress({ write: (t) => (out += t), columns: 120, delayMs: 0 });
    p.onCollected(3, 3_000_000);
    await new Promise((r) => setTimeout(r, 20));
    p.onFileDone({ path: 'a', status: 'excluded', reason: 'binary', bytesIn: 1 }, 1_000_000);
    p.stop();
    expect(out).toMatch(/scanning \[.*\] \d+% \| [01]\/3 files \| [01]\.0\/3\.0 MB \| [\d.]+ MB\/s \| ETA/);
  });

  it('no bar in CI, when stderr is not a terminal, or with --quiet; --verbose prints a line per file', async () => {
    const { runCli } = await import('../src/cli.js');
    const dir = tree({ 'a.log': `key ${AK}\n`, 'b.log': 'ok\n' });
    const run = async (argv: string[], io: { isTTY?: boolean; env?: Record<string, string> }) => {
      let err = '';
      let out = '';
      const code = await runCli([...argv, ...FAST_PATTERNS], { cwd: dir, env: io.env ?? {}, stdout: (t) => (out += t), stderr: (t) => (err += t), isTTY: io.isTTY });
      return { code, out, err };
    };
    for (const r of [await run(['scan', '.'], { isTTY: true, env: { CI: 'true' } }), await run(['scan', '.'], {}), await run(['scan', '.', '--quiet'], { isTTY: true })]) {
      expect(r.code).toBe(1);
      expect(r.err).not.toContain('scanning [');
    }
    const v = await run(['scan', '.', '--verbose', '--format', 'report'], { isTTY: true });
    expect(v.err).toContain('done a.log (1 findings)');
    expect(v.err).toContain('done b.log (0 findings)');
    expect(v.err).not.toContain(AK);
    expect(JSON.parse(v.out)).toHaveProperty('reportVersion', 1); // machine report alone on stdout
    const q = await run(['scan', '.', '--quiet', '--format', 'json'], {});
    expect(q.err).toBe('');
  });
});

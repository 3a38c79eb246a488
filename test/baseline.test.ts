/**
 * Baselines without churn: `baseline create` records (path, detector, fingerprint) with no line
 * numbers and no values, under a key kept next to it; moving lines changes nothing; only a new
 * secret fails the gate; a wrong or missing key is a usage error (exit 2), never a silent miss.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { cli as fullCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { FAST_PATTERNS, tree } from './helpers/tree.js';

/** The CLI with a small detector set (see FAST_PATTERNS). */
const cli = (argv: string[], opts: { cwd: string }) => fullCli([...argv, ...FAST_PATTERNS], opts);

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const AK_NEW = 'LTAI5tNeWs3cR3tAdd3d9Xy2';
const EMAIL = 'wang.fang@corp-mail.cn';
const PASSWORD = 'Zq8!rT4#wLp2';

const validateBaseline = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(path.join(ROOT, 'schema', 'baseline.schema.json'), 'utf8')) as object);

interface Report {
  gate: { passed: boolean; failing: number };
  findings: Array<{ path: string; line: number; detector: string; failsGate: boolean; suppressed?: string }>;
  summary: { suppressed: { baseline: number } };
}

function evidence(): string {
  return tree({
    'evidence/app.log': ['boot ok', `ak ${AK}`, `mail ${EMAIL}`, 'done', ''].join('\n'),
    'evidence/conf/db.env': `DB_PASSWORD=${PASSWORD}\n`,
    'evidence/clean.txt': 'nothing\n',
  });
}

async function scanJson(cwd: string, args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await cli(['scan', ...args, '--format', 'report'], { cwd });
  return { code: r.code, report: JSON.parse(r.stdout || '{}') as Report, stderr: r.stderr };
}

describe('baseline', () => {
  it('create, move lines, add a new secret: only the new one fails the gate', async () => {
    const dir = evidence();
    const before = await cli(['scan', 'evidence', '--fail-on', 'pii'], { cwd: dir });
    expect(before.code).toBe(1);

    const created = await cli(['baseline', 'create', 'evidence', '-o', '.aliscrub-baseline.json'], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^baseline written: \.aliscrub-baseline\.json \(\d+ findings in 2 files\)$/m);
    expect(created.stdout).toContain('key written: .aliscrub-baseline.json.key (mode 0600');
    const file = path.join(dir, '.aliscrub-baseline.json');
    const text = readFileSync(file, 'utf8');
    const data = JSON.parse(text) as { findings: Array<Record<string, string>> };
    expect(validateBaseline(data)).toBe(true);
    expect(created.stdout).toContain(`(${data.findings.length} findings in 2 files)`);
    // No line numbers, no values.
    for (const e of data.findings) expect(Object.keys(e).sort()).toEqual(['detector', 'fingerprint', 'path']);
    for (const v of [AK, EMAIL, PASSWORD]) expect(text).not.toContain(v);
    expect(new Set(data.findings.map((e) => e.path))).toEqual(new Set(['evidence/app.log', 'evidence/conf/db.env']));
    expect(statSync(`${file}.key`).mode & 0o777).toBe(0o600);

    // Gate with the baseline: every known finding is suppressed.
    const known = await scanJson(dir, ['evidence', '--fail-on', 'any', '--baseline', '.aliscrub-baseline.json']);
    expect(known.code).toBe(0);
    expect(known.report.summary.suppressed.baseline).toBe(known.report.findings.length);

    // Move lines around (the secret moves from line 2 to line 9): still nothing new.
    writeFileSync(path.join(dir, 'evidence/app.log'), ['# header', '', 'boot ok', 'x', 'y', `mail ${EMAIL}`, 'z', 'done', `ak ${AK}`, ''].join('\n'));
    const moved = await scanJson(dir, ['evidence', '--fail-on', 'any', '--baseline', '.aliscrub-baseline.json']);
    expect(moved.code).toBe(0);
    // Re-creating the baseline after the move gives the same bytes: no churn.
    const again = await cli(['baseline', 'create', 'evidence', '-o', '.aliscrub-baseline.json', '--force'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('key written');
    expect(readFileSync(file, 'utf8')).toBe(text);

    // A new secret: only it fails.
    writeFileSync(path.join(dir, 'evidence/app.log'), ['# header', `new ${AK_NEW}`, 'boot ok', `mail ${EMAIL}`, `ak ${AK}`, ''].join('\n'));
    const added = await scanJson(dir, ['evidence', '--fail-on', 'any', '--baseline', '.aliscrub-baseline.json']);
    expect(added.code).toBe(1);
    const failing = added.report.findings.filter((f) => f.failsGate);
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.every((f) => f.path === 'evidence/app.log' && f.line === 2)).toBe(true);
    expect(added.report.findings.filter((f) => f.line !== 2).every((f) => f.suppressed === 'baseline')).toBe(true);
    const text2 = await cli(['scan', 'evidence', '--baseline', '.aliscrub-baseline.json'], { cwd: dir });
    expect(text2.stdout).toMatch(/^evidence\/app\.log:2:5 alibaba-access-key-id \(secret\)/m);
    expect(text2.stdout).not.toMatch(/^evidence\/app\.log:5:/m);
    expect(text2.stdout + text2.stderr).not.toContain(AK_NEW);
  });

  it('records each entry once, in path, detector, fingerprint order, and says how many', async () => {
    const { renderBaseline } = await import('../src/gate/baseline.js');
    const e = (p: string, d: string, f: string) => ({ path: p, detector: d, fingerprint: `0000000000${f}` });
    const entries = [e('b.log', 'x', '02'), e('a.log', 'y', '01'), e('b.log', 'x', '01'), e('a.log', 'y', '01'), e('a.log', 'x', '09'), e('b.log', 'x', '02')];
    const { text, count } = renderBaseline(entries, Buffer.alloc(32, 7));
    const data = JSON.parse(text) as { findings: Array<Record<string, string>> };
    expect(validateBaseline(data)).toBe(true);
    expect(data.findings).toEqual([e('a.log', 'x', '09'), e('a.log', 'y', '01'), e('b.log', 'x', '01'), e('b.log', 'x', '02')]);
    expect(count).toBe(4);
    expect(renderBaseline([...entries].reverse(), Buffer.alloc(32, 7)).text).toBe(text);
  });

  it('paths are relative to the baseline file, so it works from another working directory', async () => {
    const dir = evidence();
    expect((await cli(['baseline', 'create', 'evidence', '-o', 'baseline.json'], { cwd: dir })).code).toBe(0);
    const sub = await cli(['scan', '.', '--fail-on', 'any', '--baseline', '../baseline.json'], { cwd: path.join(dir, 'evidence') });
    expect(sub.code, sub.stdout).toBe(0);
  });

  it('a wrong or missing key is exit 2, never a silent miss', async () => {
    const dir = evidence();
    writeFileSync(path.join(dir, 'other.key'), 'another key of at least sixteen bytes\n');
    expect((await cli(['baseline', 'create', 'evidence', '-o', 'b.json'], { cwd: dir })).code).toBe(0);
    const wrong = await cli(['scan', 'evidence', '--baseline', 'b.json', '--key-file', 'other.key'], { cwd: dir });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^aliscrub: --baseline: b\.json was made with a different fingerprint key/);
    // The same --key-file for create and scan works (the companion file is then not used).
    expect((await cli(['baseline', 'create', 'evidence', '-o', 'k.json', '--key-file', 'other.key'], { cwd: dir })).code).toBe(0);
    expect(existsSync(path.join(dir, 'k.json.key'))).toBe(false);
    expect((await cli(['scan', 'evidence', '--fail-on', 'any', '--baseline', 'k.json', '--key-file', 'other.key'], { cwd: dir })).code).toBe(0);
    const missing = await cli(['scan', 'evidence', '--baseline', 'k.json'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("the baseline's key k.json.key");
  });

  it('refuses to replace a baseline without --force, a bad baseline file, and a non-.json name', async () => {
    const dir = evidence();
    expect((await cli(['baseline', 'create', 'evidence', '-o', 'b.json'], { cwd: dir })).code).toBe(0);
    const again = await cli(['baseline', 'create', 'evidence', '-o', 'b.json'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists (use --force');
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ aliscrubBaseline: 1, keyCheck: 'zz', findings: [] }));
    const bad = await cli(['scan', 'evidence', '--baseline', 'b.json'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('b.json: not an aliscrub baseline');
    expect((await cli(['baseline', 'create', 'evidence', '-o', 'b.txt'], { cwd: dir })).code).toBe(2);
  });

  it('an input that cannot be scanned is not in the baseline: exit 1 unless --allow-unscanned', async () => {
    const dir = tree({ 'e/a.log': `ak ${AK}\n`, 'e/bad.log': Buffer.from([0x61, 0xff, 0xfe, 0xfd, 0x0a]) });
    const r = await cli(['baseline', 'create', 'e', '-o', 'b.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('e/bad.log: not scanned: undecodable');
    expect(existsSync(path.join(dir, 'b.json'))).toBe(true);
    expect((await cli(['baseline', 'create', 'e', '-o', 'b.json', '--force', '--allow-unscanned'], { cwd: dir })).code).toBe(0);
  });
});

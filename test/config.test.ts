/**
 * The configuration file: found from the working directory upward (or --config), validated
 * against schema/config.schema.json; policy, detectors, pattern packs, excludes, allowlists,
 * limits, key file and baseline applied; unknown keys, wrong types and syntax errors are exit 2
 * with one line naming the file and the key.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli as fullCli } from './helpers/cli.js';
import { FAST_PATTERNS, tree } from './helpers/tree.js';

/** The CLI with a small detector set (see FAST_PATTERNS). */
const cli = (argv: string[], opts: { cwd: string }) => fullCli([...argv, ...FAST_PATTERNS], opts);

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const EMAIL = 'chen.jie@corp-mail.cn';

interface Report {
  gate: { passed: boolean; failOn: string; allowUnscanned: boolean };
  findings: Array<{ path: string; detector: string; fingerprint: string; suppressed?: string; failsGate: boolean }>;
  files: Array<{ path: string; status: string; reason?: string }>;
}

async function report(cwd: string, args: string[] = [], run = cli): Promise<{ code: number; r: Report; stderr: string }> {
  const res = await run(['scan', ...args, '--format', 'report'], { cwd });
  return { code: res.code, r: JSON.parse(res.stdout || '{}') as Report, stderr: res.stderr };
}

const PACK = {
  family: 'acme',
  description: 'ACME internal tokens',
  detectors: [
    {
      id: 'acme-token',
      category: 'secret',
      description: 'ACME internal API token: acme_ followed by 10 letters or digits.',
      pattern: '\\b(acme_[a-z0-9]{10})\\b',
      group: 1,
      maxLength: 15,
      keywords: ['acme_'],
      examples: { match: ['token «acme_ab12cd34ef»', 'x=«acme_0000011111»', '«acme_zzzzzzzzzz» end'], noMatch: ['acme_short', 'acme_', 'nothing here'] },
    },
  ],
};

describe('a valid configuration is applied', () => {
  it('found from a parent folder: policy, exclude, allowlists by path/detector/fingerprint, limits', async () => {
    const dir = tree({
      'aliscrub.config.yaml': [
        '# team policy',
        'policy:',
        '  failOn: pii',
        'exclude:',
        "  - '**/*.bak'",
        'allowlist:',
        '  paths: [evidence/fixtures/**]',
        '  rules:',
        '    - detectors: [ipv4-address]',
        '      paths: [evidence/net/*.log]',
        '      reason: lab addresses',
        'limits:',
        '  maxFileSize: 1KB',
        '  concurrency: 2',
        '',
      ].join('\n'),
      'evidence/app.log': `mail ${EMAIL}\n`,
      'evidence/old.bak': `ak ${AK}\n`,
      'evidence/fixtures/sample.log': `ak ${AK}\n`,
      'evidence/net/hosts.log': 'host 10.9.8.7\n',
      'evidence/other/hosts.log': 'host 10.9.8.7\n',
      'evidence/big.log': 'x'.repeat(2000),
    });
    const sub = path.join(dir, 'evidence');
    const { code, r } = await report(sub, ['.']);
    expect(r.gate.failOn).toBe('pii');
    expect(code).toBe(1); // the e-mail fails at pii; big.log is too large
    const byPath = (p: string) => r.findings.filter((f) => f.path === p).map((f) => [f.detector, f.suppressed ?? null]);
    expect(byPath('fixtures/sample.log').every(([, s]) => s === 'config')).toBe(true);
    expect(byPath('net/hosts.log')).toEqual([['ipv4-address', 'config']]);
    expect(byPath('other/hosts.log')).toEqual([['ipv4-address', null]]);
    expect(byPath('app.log')).toEqual([['email-address', null]]);
    expect(r.files.find((f) => f.path === 'old.bak')).toMatchObject({ status: 'excluded', reason: 'excluded' });
    expect(r.files.find((f) => f.path === 'big.log')).toMatchObject({ status: 'excluded', reason: 'too-large' });
    // Command-line options win over the file.
    const flags = await report(sub, ['.', '--fail-on', 'secret', '--allow-unscanned']);
    expect(flags.code).toBe(0);
  });

  it('detectors.disable, patterns.packs, keyFile + allowlist fingerprints, baseline, allowUnscanned (JSON file)', async () => {
    const dir = tree({
      'acme.json': JSON.stringify(PACK),
      'team.key': 'a fingerprint key of at least sixteen bytes\n',
      'evidence/a.log': `mail ${EMAIL}\ntoken acme_q1w2e3r4t5\nak ${AK}\n`,
      'evidence/bin.log': Buffer.from([0x00, 0x01, 0x02, 0x00, 0x00, 0x00]),
    });
    const base = { policy: { failOn: 'any', allowUnscanned: true }, detectors: { disable: ['email-address'] }, patterns: { packs: ['acme.json'] }, keyFile: 'team.key' };
    writeFileSync(path.join(dir, 'aliscrub.config.json'), JSON.stringify(base));
    const first = await report(dir, ['evidence'], fullCli);
    expect(first.r.findings.some((f) => f.detector === 'acme-token')).toBe(true);
    expect(first.r.findings.some((f) => f.detector === 'alibaba-access-key-id')).toBe(true);
    expect(first.r.findings.some((f) => f.detector === 'email-address')).toBe(false);
    expect(first.code).toBe(1);
    // The key file makes fingerprints stable, so an allowlist can name them.
    const fps = [...new Set(first.r.findings.map((f) => f.fingerprint))];
    writeFileSync(path.join(dir, 'aliscrub.config.json'), JSON.stringify({ ...base, allowlist: { fingerprints: fps } }));
    const second = await report(dir, ['evidence'], fullCli);
    expect(second.code).toBe(0); // bin.log is unscanned but allowUnscanned is true
    expect(second.r.gate.allowUnscanned).toBe(true);
    expect(second.r.findings.every((f) => f.suppressed === 'config')).toBe(true);
    // A baseline named in the config, made with the config's key.
    writeFileSync(path.join(dir, 'aliscrub.config.json'), JSON.stringify({ ...base, baseline: 'known.json' }));
    expect((await fullCli(['baseline', 'create', 'evidence', '-o', 'known.json'], { cwd: dir })).code).toBe(0);
    const third = await report(dir, ['evidence'], fullCli);
    expect(third.code).toBe(0);
    expect(third.r.findings.every((f) => f.suppressed === 'baseline')).toBe(true);
  });

  it('--config names a file; --no-config ignores the one found; redact and pack use it too', async () => {
    const dir = tree({
      'aliscrub.config.yml': 'policy:\n  failOn: any\n',
      'strict/custom.yaml': 'exclude: ["*.tmp"]\n',
      'e/a.log': 'host 10.1.1.1\n',
      'e/x.tmp': `ak ${AK}\n`,
    });
    expect((await cli(['scan', 'e'], { cwd: dir })).code).toBe(1);
    expect((await cli(['scan', 'e', '--no-config'], { cwd: dir })).code).toBe(1); // x.tmp's secret
    expect((await cli(['scan', 'e', '--config', 'strict/custom.yaml'], { cwd: dir })).code).toBe(0);
    const out = path.join(tree({}), 'o');
    const red = await cli(['redact', 'e', '--out-dir', out, '--config', 'strict/custom.yaml'], { cwd: dir });
    expect(red.code).toBe(0);
    expect(red.stdout).toContain('1 excluded by --exclude');
  });
});

describe('configuration errors are exit 2 naming the file and key', () => {
  const cases: Array<[string, string, string]> = [
    ['an unknown nested key', 'allowlist:\n  pathz: [a]\n', "aliscrub: aliscrub.config.yaml: unknown key 'allowlist.pathz'\n"],
    ['an unknown top-level key', 'failOn: pii\n', "aliscrub: aliscrub.config.yaml: unknown key 'failOn'\n"],
    ['an unknown key in a rule', 'allowlist:\n  rules:\n    - paths: [a]\n      detector: [b]\n', "aliscrub: aliscrub.config.yaml: unknown key 'allowlist.rules[0].detector'\n"],
    ['a bad enum', 'policy:\n  failOn: sometimes\n', "aliscrub: aliscrub.config.yaml: 'policy.failOn' must be one of secret, pii, identifier, any\n"],
    ['a bad type', 'policy:\n  allowUnscanned: "yes"\n', "aliscrub: aliscrub.config.yaml: 'policy.allowUnscanned' must be boolean\n"],
    ['a number out of range', 'limits:\n  concurrency: 0\n', "aliscrub: aliscrub.config.yaml: 'limits.concurrency' must be >= 1\n"],
    ['a list that is not a list', 'exclude: "*.bak"\n', "aliscrub: aliscrub.config.yaml: 'exclude' must be array\n"],
    ['a bad fingerprint', 'allowlist:\n  fingerprints: [XYZ]\n', "aliscrub: aliscrub.config.yaml: 'allowlist.fingerprints[0]' must be a fingerprint (12 lower-case hex digits)\n"],
    ['an empty rule', 'allowlist:\n  rules:\n    - reason: why\n', "aliscrub: aliscrub.config.yaml: 'allowlist.rules[0]' needs at least one of paths, detectors, fingerprints\n"],
    ['a bad size', 'limits:\n  maxFileSize: huge\n', "aliscrub: aliscrub.config.yaml: 'limits.maxFileSize' must be a size such as 500MB\n"],
    ['a YAML syntax error', 'policy:\n  failOn: [pii\n', 'aliscrub: aliscrub.config.yaml:3:1: not valid YAML'],
    ['a duplicate key', 'policy:\n  failOn: pii\n  failOn: any\n', 'aliscrub: aliscrub.config.yaml:3:3: duplicate key\n'],
    ['a top level that is not a mapping', '- a\n- b\n', "aliscrub: aliscrub.config.yaml: '(top level)' must be object\n"],
    ['fingerprints without a stable key', 'allowlist:\n  fingerprints: [0123456789ab]\n', 'aliscrub: aliscrub.config.yaml: allowlist fingerprints need a stable key'],
    ['an unknown detector to disable', 'detectors:\n  disable: [no-such-detector]\n', "aliscrub: cannot disable detector 'no-such-detector'"],
    ['an allowlist naming an unknown detector', 'allowlist:\n  detectors: [no-such-detector]\n', "aliscrub: aliscrub.config.yaml: allowlist names detector 'no-such-detector', which is not loaded\n"],
  ];
  for (const [what, yaml, message] of cases) {
    it(what, async () => {
      const dir = tree({ 'aliscrub.config.yaml': yaml, 'a.log': `ak ${AK}\n` });
      const r = await cli(['scan', 'a.log'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.startsWith(message), r.stderr).toBe(true);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('JSON syntax errors give a position, not the text', async () => {
    const dir = tree({ 'aliscrub.config.json': '{\n  "policy": { "failOn": "pii", }\n}\n', 'a.log': 'x\n' });
    const r = await cli(['scan', 'a.log'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('aliscrub: aliscrub.config.json:2:32: not valid JSON\n');
  });

  it('two config files in one folder', async () => {
    const dir = tree({ 'aliscrub.config.json': '{}', 'aliscrub.config.yaml': '{}\n', 'a.log': 'x\n' });
    mkdirSync(path.join(dir, 'sub'));
    const r = await cli(['scan', '../a.log'], { cwd: path.join(dir, 'sub') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds both aliscrub.config.json and aliscrub.config.yaml');
  });
});

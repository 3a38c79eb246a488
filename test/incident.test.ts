/**
 * Incident coordination (issue 8): the incident file and its errors, `incident init`,
 * classification, TICKET.md golden files in both languages, and `pack --incident` (TICKET.md and
 * the scrubbed incident file in the bundle, canaries absent, byte-identical, verify passes).
 *
 * Golden files live next to the fixtures (fixtures/incidents/NAME.LANG.md). After an intended
 * change of TICKET.md, regenerate them with `UPDATE_GOLDEN=1 npx vitest run test/incident.test.ts`
 * and review the diff.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import unzipper from 'unzipper';
import { cli } from './helpers/cli.js';
import { occurrences, readValueList } from './helpers/canaries.js';
import { FIXTURES } from './helpers/paths.js';
import { tree } from './helpers/tree.js';
import { classify } from '../src/incident/classify.js';
import { incidentRender } from '../src/incident/commands.js';
import type { IncidentIo } from '../src/incident/commands.js';
import { loadClassificationPolicy, loadIncident } from '../src/incident/load.js';
import { createScrub, loadPolicies } from '../src/incident/ticket.js';
import type { Scrub } from '../src/incident/ticket.js';
import { INCIDENT_TEMPLATE } from '../src/incident/template.js';
import type { Incident } from '../src/incident/types.js';

const INCIDENTS = path.join(FIXTURES, 'incidents');
const canaries = readValueList(path.join(INCIDENTS, 'canaries.txt'));
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

function io(cwd: string): IncidentIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    cwd,
    clock: () => {
      throw new Error('the clock must not be read here');
    },
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    out: () => out,
    err: () => err,
  };
}

let scrub: Scrub;
beforeAll(async () => {
  scrub = await createScrub({ key: Buffer.alloc(32, 7) });
});

/** Writes `body` as an incident file in a fresh folder and runs the CLI on it. */
async function withIncident(body: string, argv: (file: string) => string[], name = 'incident.yaml') {
  const dir = tree({ [name]: body }, 'aliscrub-incident-');
  return cli(argv(path.join(dir, name)), { cwd: dir });
}

const VALID = readFileSync(path.join(INCIDENTS, 'p2-intl-partial.yaml'), 'utf8');

describe('incident file validation (exit 2, errors name the field, never the value)', () => {
  it('names a wrongly typed field as a JSON pointer', async () => {
    const run = await withIncident(VALID.replace('productionDown: false', 'productionDown: "no"'), (f) => ['incident', 'render', f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('incident.yaml: /impact/productionDown: must be boolean');
  });

  it('names unknown fields, missing fields, bad enums and times without a zone', async () => {
    const bad = VALID.replace('  workaround: true', '  workaround: true\n  prodDown: true')
      .replace('  site: intl', '  site: global')
      .replace('startedAt: 2025-06-10T02:00:00Z', 'startedAt: 2025-06-10T02:00:00')
      .replace('title: Slow OSS uploads from ap-southeast-1\n', '');
    const run = await withIncident(bad, (f) => ['sla', f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("incident.yaml: /impact: unknown field 'prodDown'");
    expect(run.stderr).toContain("incident.yaml: /: missing required field 'title'");
    expect(run.stderr).toContain('incident.yaml: /account/site: must be one of cn, intl');
    expect(run.stderr).toContain('incident.yaml: /startedAt: must be a date-time with a zone offset');
  });

  it('does not repeat an unknown key that looks like a pasted value', async () => {
    const bad = VALID.replace('  workaround: true', '  workaround: true\n  LTAI5tQ8mZr2XbK9vNc4Wd7P: 1');
    const run = await withIncident(bad, (f) => ['incident', 'render', f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('incident.yaml: /impact: unknown field (its name is not shown');
    expect(run.stderr).not.toContain('LTAI5tQ8mZr2XbK9vNc4Wd7P');
  });

  it('rejects impossible dates, unknown zones, and a file with neither level nor answers', async () => {
    const bad = VALID.replace('2025-06-10T03:00:00Z', '2025-02-30T03:00:00Z')
      .replace('  plan: Enterprise', '  plan: Enterprise\n  timeZone: Mars/Olympus')
      .replace('  productionDown: false\n', '');
    const run = await withIncident(bad, (f) => ['incident', 'render', f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/ticket/createdAt: is not a real date and time');
    expect(run.stderr).toContain('/account/timeZone: must be an IANA time zone');
    expect(run.stderr).toContain('/level: give a level (P0-P3) or answer /impact/productionDown');
  });

  it('gives a position for YAML syntax errors and never echoes a value', async () => {
    const secret = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
    const typed = await withIncident(VALID.replace('productionDown: false', `productionDown: ${secret}`), (f) => ['incident', 'render', f]);
    expect(typed.code).toBe(2);
    expect(typed.stderr).toContain('/impact/productionDown: must be boolean');
    expect(typed.stderr + typed.stdout).not.toContain(secret);
    const syntax = await withIncident(`${VALID}\ntitle: [${secret}\n`, (f) => ['incident', 'render', f]);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/incident\.yaml:\d+:\d+: (not valid YAML|duplicate key)/);
    expect(syntax.stderr).not.toContain(secret);
  });

  it('reads JSON incident files too', async () => {
    const loaded = await loadIncident(path.join(INCIDENTS, 'p2-intl-partial.yaml'), INCIDENTS);
    const run = await withIncident(JSON.stringify(loaded.incident), (f) => ['sla', f, '--now', '2025-06-10T06:00:00Z'], 'incident.json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});

describe('incident init', () => {
  it('writes the commented template, which is itself a valid incident file', async () => {
    const dir = tree({}, 'aliscrub-init-');
    const run = await cli(['incident', 'init'], { cwd: dir });
    expect(run.code).toBe(0);
    const text = readFileSync(path.join(dir, 'incident.yaml'), 'utf8');
    expect(text).toBe(INCIDENT_TEMPLATE);
    expect(text).toContain('# cn: China site');
    expect((await loadIncident('incident.yaml', dir)).incident.id).toBe('INC-0000-0001');
  });

  it('refuses to overwrite without --force (exit 2, file unchanged) and replaces with it', async () => {
    const dir = tree({ 'mine.yaml': 'keep me\n' }, 'aliscrub-init-');
    const refused = await cli(['incident', 'init', 'mine.yaml'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already exists');
    expect(readFileSync(path.join(dir, 'mine.yaml'), 'utf8')).toBe('keep me\n');
    const forced = await cli(['incident', 'init', 'mine.yaml', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, 'mine.yaml'), 'utf8')).toBe(INCIDENT_TEMPLATE);
  });
});

describe('classification (policy/classification.json)', () => {
  const base: Incident = {
    id: 'X',
    title: 't',
    account: { site: 'cn' },
    impact: { description: 'd', productionDown: false, dataLoss: false, workaround: true, scope: 'single' },
    startedAt: '2025-01-01T00:00:00Z',
  };
  const withImpact = (impact: Partial<Incident['impact']>, level?: Incident['level']): Incident => ({ ...base, impact: { ...base.impact, ...impact }, ...(level ? { level } : {}) });

  it('derives P0-P3 from the answers with the rationale, and maps to the API severity by policy', async () => {
    const policy = await loadClassificationPolicy();
    const cases: Array<[Partial<Incident['impact']>, string, 1 | 2]> = [
      [{ productionDown: true, scope: 'all', workaround: false }, 'P0', 2],
      [{ dataLoss: true }, 'P0', 2],
      [{ productionDown: true, scope: 'single' }, 'P1', 2],
      [{ workaround: false, scope: 'all' }, 'P1', 2],
      [{ workaround: false, scope: 'single' }, 'P2', 1],
      [{ scope: 'partial' }, 'P2', 1],
      [{}, 'P3', 1],
    ];
    for (const [impact, level, sev] of cases) {
      const c = classify(withImpact(impact), policy);
      expect([c.level, c.apiSeverity, c.basis]).toEqual([level, sev, 'derived']);
      expect(c.reason?.en.length).toBeGreaterThan(5);
      expect(c.contradiction).toBeUndefined();
    }
  });

  it('flags a chosen level that contradicts the answers, in both directions, and keeps it in effect', async () => {
    const policy = await loadClassificationPolicy();
    const low = classify(withImpact({ productionDown: true, scope: 'all', workaround: false }, 'P2'), policy);
    expect(low.level).toBe('P2');
    expect(low.contradiction?.en).toBe('P2 chosen but production is down for all or part of the users (the answers give P0)');
    expect(low.contradiction?.['zh-CN']).toContain('选择了 P2');
    const high = classify(withImpact({}, 'P0'), policy);
    expect(high.contradiction?.en).toMatch(/^P0 chosen but the answers give P3: /);
    expect(classify(withImpact({ productionDown: true, scope: 'all' }, 'P0'), policy).contradiction).toBeUndefined();
  });

  it('with a chosen level and missing answers: no derivation, the missing answers are listed', async () => {
    const policy = await loadClassificationPolicy();
    const c = classify({ ...base, level: 'P1', impact: { description: 'd', workaround: true } }, policy);
    expect(c).toMatchObject({ level: 'P1', basis: 'chosen', derived: undefined, missingAnswers: ['productionDown', 'dataLoss', 'scope'] });
  });

  it('a classification policy file is validated like the incident file', async () => {
    const dir = tree({ 'cls.json': JSON.stringify({ policyVersion: 1, source: 's', rules: [{ level: 'P5', when: {}, reason: { en: 'x', 'zh-CN': 'x' } }], levels: {} }) }, 'aliscrub-cls-');
    const run = await cli(['sla', path.join(INCIDENTS, 'p2-intl-partial.yaml'), '--classification-policy', 'cls.json'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cls.json: /rules/0/level: must be one of P0, P1, P2, P3');
  });
});

/** Fixture → the instant its golden TICKET.md describes, and whether it gets the evidence manifest. */
const GOLDEN: Record<string, { now: string; manifest?: boolean }> = {
  'p0-cn-production-down': { now: '2025-03-01T12:00:00+08:00', manifest: true },
  'p2-intl-partial': { now: '2025-06-10T06:00:00Z' },
  'contradictory-level': { now: '2025-07-02T09:00:00+08:00' },
  'missing-status-page': { now: '2025-03-30T02:30:00Z' },
};

describe('TICKET.md golden files (fixtures/incidents/*.{en,zh-CN}.md)', () => {
  for (const [name, spec] of Object.entries(GOLDEN)) {
    for (const lang of ['en', 'zh-CN'] as const) {
      it(`${name} (${lang})`, async () => {
        const o = io(INCIDENTS);
        const code = await incidentRender(
          { file: `${name}.yaml`, lang, now: spec.now, ...(spec.manifest ? { manifest: 'evidence.manifest.json' } : {}), scrub },
          o,
        );
        expect(code).toBe(0);
        const golden = path.join(INCIDENTS, `${name}.${lang}.md`);
        if (UPDATE) writeFileSync(golden, o.out());
        expect(existsSync(golden), `${golden} missing: run with UPDATE_GOLDEN=1`).toBe(true);
        expect(o.out()).toBe(readFileSync(golden, 'utf8'));
      });
    }
  }

  it('the golden files hold every item of the response minimum', () => {
    const p0 = readFileSync(path.join(INCIDENTS, 'p0-cn-production-down.en.md'), 'utf8');
    for (const needle of [
      'status.aliyun.com',
      '2 (Urgent / 紧急)',
      'is our policy',
      'Rationale: production is down',
      'Redacted: 5 value(s): secrets 2, personal data 1, identifiers 2',
      '`core.dump`: binary file, not text',
      'SecretInfo',
      'Call or DingTalk your account manager (客户经理) directly now',
      '| 2 h (unverified) |',
      '**unverified**',
      'breached by 40 min (still open)',
      '"breachedByMinutes": 40',
      'every 30 min',
      '## 8. Open questions (block closure)',
      '## 9. RCA request',
      '## 10. Stakeholder update (template)',
    ])
      expect(p0, needle).toContain(needle);
    const zh = readFileSync(path.join(INCIDENTS, 'p0-cn-production-down.zh-CN.md'), 'utf8');
    for (const needle of ['健康看板', '2（紧急 / Urgent）', '我方策略', '机密信息字段（SecretInfo）', '通过电话或钉钉直接联系客户经理', '未核实 unverified', '已超时 40 分钟', '待解决问题', '根因分析'])
      expect(zh, needle).toContain(needle);
    const intl = readFileSync(path.join(INCIDENTS, 'p2-intl-partial.en.md'), 'utf8');
    expect(intl).toContain('https://status.alibabacloud.com/ (international status page; not confirmed from an official Alibaba Cloud page)');
    expect(intl).toContain('**1 (Normal / 一般)**');
    expect(intl).not.toContain('RCA request');
    expect(intl).toContain('met 5 h 30 min early');
    const contra = readFileSync(path.join(INCIDENTS, 'contradictory-level.en.md'), 'utf8');
    expect(contra).toContain('**Contradiction:** P2 chosen but production is down');
    expect(contra).toContain('- [ ] Resolve the level: P2 chosen but production is down');
    const missing = readFileSync(path.join(INCIDENTS, 'missing-status-page.en.md'), 'utf8');
    expect(missing).toContain('- [ ] Status page not checked: check https://status.alibabacloud.com/');
    expect(missing).toContain('no response target for plan business at P3');
  });

  it('--lang both is English then Chinese; the default is both for cn, en for intl', async () => {
    const both = io(INCIDENTS);
    await incidentRender({ file: 'p0-cn-production-down.yaml', now: '2025-03-01T12:00:00+08:00', scrub }, both);
    expect(both.out()).toContain('\n---\n\n# 工单草稿 INC-2025-0042');
    expect(both.out().indexOf('# Ticket draft')).toBe(0);
    const intl = io(INCIDENTS);
    await incidentRender({ file: 'p2-intl-partial.yaml', now: '2025-06-10T06:00:00Z', scrub }, intl);
    expect(intl.out()).not.toContain('工单草稿');
  });

  it('"now" is --now, else the manifest\'s createdAt; the clock is only the last resort', async () => {
    const o = io(INCIDENTS);
    await incidentRender({ file: 'p2-intl-partial.yaml', manifest: 'evidence.manifest.json', scrub }, o);
    expect(o.out()).toContain('Status as of 2025-03-01 04:00 (UTC+00:00)');
    const clocked = await cli(['incident', 'render', path.join(INCIDENTS, 'p2-intl-partial.yaml'), '--lang', 'en'], { cwd: INCIDENTS });
    expect(clocked.code).toBe(0);
    expect(clocked.stdout).toMatch(/Status as of \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    const bad = await cli(['incident', 'render', path.join(INCIDENTS, 'p2-intl-partial.yaml'), '--now', 'yesterday'], { cwd: INCIDENTS });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--now: must be a date-time with a zone offset');
    const rolled = await cli(['sla', path.join(INCIDENTS, 'p2-intl-partial.yaml'), '--now', '2025-02-30T10:00:00+08:00'], { cwd: INCIDENTS });
    expect(rolled.code).toBe(2);
    expect(rolled.stderr).toContain('--now: is not a real date and time');
  });

  it('render scrubs what it prints: no planted value reaches stdout or an --out file', async () => {
    const run = await cli(['incident', 'render', path.join(INCIDENTS, 'canary-incident.yaml'), '--lang', 'both', '--now', '2025-03-01T10:00:00+08:00'], { cwd: INCIDENTS });
    expect(run.code).toBe(0);
    for (const c of canaries) expect(run.stdout + run.stderr).not.toContain(c);
    expect(run.stdout).toContain('[REDACTED:');
    const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-render-'));
    const outRun = await cli(['incident', 'render', path.join(INCIDENTS, 'canary-incident.yaml'), '--out', 'TICKET.md'], { cwd: dir });
    expect(outRun.code).toBe(0);
    const written = readFileSync(path.join(dir, 'TICKET.md'));
    for (const c of canaries) expect(occurrences(written, c)).toEqual([]);
    expect((await cli(['incident', 'render', path.join(INCIDENTS, 'canary-incident.yaml'), '--out', 'TICKET.md'], { cwd: dir })).code).toBe(2);
  });
});

async function readZip(file: string): Promise<Map<string, Buffer>> {
  const dir = await unzipper.Open.file(file);
  const out = new Map<string, Buffer>();
  for (const f of dir.files) out.set(f.path, await f.buffer());
  return out;
}

describe('pack --incident', () => {
  const secretInEvidence = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
  const env = { SOURCE_DATE_EPOCH: '1740801600' }; // 2025-03-01T04:00:00Z = 12:00 in Shanghai
  let work: string;
  let evidence: string;
  let keyFile: string;
  let entries: Map<string, Buffer>;
  let first: Buffer;

  beforeAll(async () => {
    evidence = tree({ 'logs/app.log': `2025-03-01 09:12 boot AccessKeyId=${secretInEvidence}\nok\n` }, 'aliscrub-pack-ev-');
    work = mkdtempSync(path.join(tmpdir(), 'aliscrub-pack-inc-'));
    keyFile = path.join(work, 'key');
    writeFileSync(keyFile, Buffer.alloc(32, 42));
    const run = await cli(['pack', evidence, '--out', 'a.zip', '--key-file', keyFile, '--incident', path.join(INCIDENTS, 'canary-incident.yaml'), '--lang', 'both'], { cwd: work, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    first = readFileSync(path.join(work, 'a.zip'));
    entries = await readZip(path.join(work, 'a.zip'));
  });

  it('puts TICKET.md and the scrubbed incident file in the bundle', () => {
    expect([...entries.keys()]).toEqual(['REDACTIONS.md', 'TICKET.md', 'evidence/logs/app.log', 'incident.yaml', 'manifest.json']);
    const ticket = entries.get('TICKET.md')!.toString('utf8');
    expect(ticket).toContain('# Ticket draft INC-2025-0999');
    expect(ticket).toContain('# 工单草稿 INC-2025-0999');
    expect(ticket).toContain('The incident file is in this bundle as incident.yaml, scrubbed like the evidence.');
    expect(ticket).toContain('Collected: 1 file(s); 1 redacted');
    const inc = entries.get('incident.yaml')!.toString('utf8');
    expect(inc).toContain('id: INC-2025-0999');
    expect(inc).toMatch(/AccessKeyId=\[REDACTED:[a-z0-9-]+:[0-9a-f]{12}\]/);
  });

  it('the canary test holds: no planted value in any entry', () => {
    const leaks: string[] = [];
    for (const [name, data] of entries) for (const c of [...canaries, secretInEvidence]) if (occurrences(data, c).length) leaks.push(`${name}: ${canaries.indexOf(c)}`);
    expect(leaks).toEqual([]);
  });

  it('uses the run\'s key: the same value has the same token in the evidence and the incident file', () => {
    const token = /AccessKeyId=(\[REDACTED:[^\]]+\])/;
    expect(token.exec(entries.get('incident.yaml')!.toString())?.[1]).toBe(token.exec(entries.get('evidence/logs/app.log')!.toString())?.[1]);
  });

  it('TICKET.md uses the manifest\'s createdAt as "now", never the wall clock: the bundle is byte-identical', async () => {
    expect(entries.get('TICKET.md')!.toString()).toContain('Status as of 2025-03-01 12:00 (UTC+08:00)');
    const again = await cli(['pack', evidence, '--out', 'b.zip', '--key-file', keyFile, '--incident', path.join(INCIDENTS, 'canary-incident.yaml'), '--lang', 'both'], { cwd: work, env });
    expect(again.code).toBe(0);
    expect(readFileSync(path.join(work, 'b.zip')).equals(first)).toBe(true);
    const later = await cli(['pack', evidence, '--out', 'c.zip', '--key-file', keyFile, '--incident', path.join(INCIDENTS, 'canary-incident.yaml'), '--now', '2025-03-02T00:00:00Z'], { cwd: work, env });
    expect(later.code).toBe(0);
    expect((await readZip(path.join(work, 'c.zip'))).get('TICKET.md')!.toString()).toContain('Status as of 2025-03-02 08:00 (UTC+08:00)');
  });

  it('verify accepts the new entries and still rescans them', async () => {
    const run = await cli(['verify', path.join(work, 'a.zip')], { cwd: work });
    expect(run.stdout).toContain('verified');
    expect(run.code).toBe(0);
  });

  it('a bad incident file is exit 2 before anything is written; --lang needs --incident', async () => {
    const bad = tree({ 'incident.yaml': VALID.replace('site: intl', 'site: mars') }, 'aliscrub-pack-bad-');
    const run = await cli(['pack', evidence, '--out', 'bad.zip', '--incident', path.join(bad, 'incident.yaml')], { cwd: work });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/account/site: must be one of cn, intl');
    expect(existsSync(path.join(work, 'bad.zip'))).toBe(false);
    const lang = await cli(['pack', evidence, '--out', 'lang.zip', '--lang', 'en'], { cwd: work });
    expect(lang.code).toBe(2);
    expect(lang.stderr).toContain('--lang needs --incident');
  });
});

describe('policies ship with the package', () => {
  it('both default policies load and validate', async () => {
    const p = await loadPolicies(INCIDENTS);
    expect(p.sla.targets.every((t) => t.verified === false)).toBe(true);
    expect(p.classification.levels.P0.apiSeverity).toBe(2);
    expect(JSON.parse(readFileSync(path.join(FIXTURES, '..', 'package.json'), 'utf8')).files).toContain('policy');
  });
});

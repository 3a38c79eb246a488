/**
 * The SLA clock (issue 8): due times across time zones (DST-free China Standard Time, zones with
 * DST changes, UTC), independence from the host zone, breached and unbreached tickets, the
 * boundary, unverified rows shown as unverified, user policies, and `aliscrub sla` exit codes.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { tree } from './helpers/tree.js';
import { loadIncident, loadSlaPolicy } from '../src/incident/load.js';
import { computeSla, displayZone } from '../src/incident/sla.js';
import { formatDuration, formatInstant, isoInZone, offsetMinutes } from '../src/incident/time.js';
import type { Incident, SlaPolicy } from '../src/incident/types.js';

const INCIDENTS = path.join(FIXTURES, 'incidents');
const P0 = path.join(INCIDENTS, 'p0-cn-production-down.yaml');
const ms = (iso: string): number => Date.parse(iso);

const savedTz = process.env['TZ'];
afterEach(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

describe('time display', () => {
  it('China Standard Time has no DST: +08:00 in winter and in summer', () => {
    expect(formatInstant(ms('2025-01-15T01:00:00Z'), 'Asia/Shanghai')).toBe('2025-01-15 09:00 (UTC+08:00)');
    expect(formatInstant(ms('2025-07-15T01:00:00Z'), 'Asia/Shanghai')).toBe('2025-07-15 09:00 (UTC+08:00)');
    expect(offsetMinutes(ms('2025-03-30T12:00:00Z'), 'Asia/Shanghai')).toBe(480);
  });

  it('shows the offset in force at each instant in zones with DST, and crosses midnight and year ends', () => {
    // New York springs forward on 2025-03-09 at 02:00: 01:30 EST + 2 h is 04:30 EDT.
    expect(isoInZone(ms('2025-03-09T01:30:00-05:00') + 120 * 60000, 'America/New_York')).toBe('2025-03-09T04:30:00-04:00');
    // Berlin falls back on 2025-10-26 at 03:00 CEST: the same wall time 02:30 occurs twice.
    expect(formatInstant(ms('2025-10-26T00:30:00Z'), 'Europe/Berlin')).toBe('2025-10-26 02:30 (UTC+02:00)');
    expect(formatInstant(ms('2025-10-26T01:30:00Z'), 'Europe/Berlin')).toBe('2025-10-26 02:30 (UTC+01:00)');
    expect(formatInstant(ms('2024-12-31T16:30:00Z'), 'Asia/Shanghai')).toBe('2025-01-01 00:30 (UTC+08:00)');
    expect(formatInstant(ms('2025-01-01T00:00:30Z'), 'UTC')).toBe('2025-01-01 00:00:30 (UTC+00:00)');
    expect(formatInstant(ms('2025-06-01T12:00:00Z'), 'Asia/Kolkata')).toBe('2025-06-01 17:30 (UTC+05:30)');
  });

  it('does not depend on the host time zone', () => {
    const at = ms('2025-03-09T07:00:00Z');
    const expected = [formatInstant(at, 'Asia/Shanghai'), formatInstant(at, 'America/New_York'), formatInstant(at, 'UTC')];
    for (const tz of ['America/Los_Angeles', 'Asia/Tokyo', 'UTC']) {
      process.env['TZ'] = tz;
      expect([formatInstant(at, 'Asia/Shanghai'), formatInstant(at, 'America/New_York'), formatInstant(at, 'UTC')]).toEqual(expected);
    }
  });

  it('formats durations in both languages', () => {
    expect(formatDuration(85 * 60000, 'en')).toBe('1 h 25 min');
    expect(formatDuration(-(2 * 1440 + 180) * 60000, 'en')).toBe('2 d 3 h');
    expect(formatDuration(30000, 'en')).toBe('< 1 min');
    expect(formatDuration(85 * 60000, 'zh-CN')).toBe('1 小时 25 分钟');
  });
});

function incident(over: Partial<Incident> & { ticket?: Incident['ticket'] }): Incident {
  return {
    id: 'INC-T',
    title: 't',
    account: { site: 'cn', plan: 'Enterprise' },
    impact: { description: 'd', productionDown: true, dataLoss: false, workaround: false, scope: 'all' },
    startedAt: '2025-03-01T09:00:00+08:00',
    ...over,
  };
}

describe('computeSla', () => {
  it('zone: Asia/Shanghai for cn, UTC for intl, the file\'s zone when set', () => {
    expect(displayZone(incident({}))).toBe('Asia/Shanghai');
    expect(displayZone(incident({ account: { site: 'intl' } }))).toBe('UTC');
    expect(displayZone(incident({ account: { site: 'intl', timeZone: 'America/New_York' } }))).toBe('America/New_York');
  });

  it('an unbreached ticket: due in, no breach record; the due time is exact at the boundary', async () => {
    const policy = await loadSlaPolicy();
    const inc = incident({ ticket: { createdAt: '2025-03-01T09:20:00+08:00' } });
    const before = computeSla(inc, 'P0', policy, ms('2025-03-01T10:00:00+08:00'));
    expect(before.targets).toHaveLength(1);
    expect(before.targets[0]).toMatchObject({ kind: 'firstResponse', minutes: 120, due: '2025-03-01T11:20:00+08:00', state: 'pending', marginMs: 80 * 60000, verified: false });
    expect(before.breaches).toEqual([]);
    const atDue = computeSla(inc, 'P0', policy, ms('2025-03-01T03:20:00Z'));
    expect(atDue.targets[0]!.state).toBe('pending');
    expect(computeSla(inc, 'P0', policy, ms('2025-03-01T03:20:01Z')).targets[0]!.state).toBe('breached');
  });

  it('a breached ticket: ongoing breach record with the unverified flag and the SOW link', async () => {
    const policy = await loadSlaPolicy();
    const inc = incident({ ticket: { number: '0005PYGCW', createdAt: '2025-03-01T09:20:00+08:00' } });
    const c = computeSla(inc, 'P0', policy, ms('2025-03-01T12:05:00+08:00'));
    expect(c.breaches).toEqual([
      {
        incidentId: 'INC-T',
        ticketNumber: '0005PYGCW',
        plan: 'enterprise',
        level: 'P0',
        target: 'firstResponse',
        targetMinutes: 120,
        ticketCreatedAt: '2025-03-01T09:20:00+08:00',
        dueAt: '2025-03-01T11:20:00+08:00',
        ongoing: true,
        breachedByMinutes: 45,
        asOf: '2025-03-01T12:05:00+08:00',
        verified: false,
        source: 'https://help.aliyun.com/document_detail/37231.html',
        sowVersion: 'unknown',
      },
    ]);
  });

  it('a response that came late stays a breach after the fact; one in time is met', async () => {
    const policy = await loadSlaPolicy();
    const late = computeSla(incident({ ticket: { createdAt: '2025-03-01T09:20:00+08:00', firstResponseAt: '2025-03-01T04:00:00Z' } }), 'P0', policy, ms('2025-03-05T00:00:00Z'));
    expect(late.breaches[0]).toMatchObject({ ongoing: false, metAt: '2025-03-01T12:00:00+08:00', breachedByMinutes: 40 });
    const ok = computeSla(incident({ ticket: { createdAt: '2025-03-01T09:20:00+08:00', firstResponseAt: '2025-03-01T09:50:00+08:00' } }), 'P0', policy, ms('2025-03-05T00:00:00Z'));
    expect(ok.targets[0]).toMatchObject({ state: 'met', metAt: '2025-03-01T09:50:00+08:00' });
    expect(ok.breaches).toEqual([]);
  });

  it('the same ticket in another zone has the same instants, shown with that zone\'s offset (DST change inside the window)', async () => {
    const policy = await loadSlaPolicy();
    const inc = incident({ account: { site: 'intl', plan: 'enterprise', timeZone: 'America/New_York' }, ticket: { createdAt: '2025-03-09T01:30:00-05:00' } });
    const c = computeSla(inc, 'P0', policy, ms('2025-03-09T09:00:00Z'));
    expect(c.targets[0]!.due).toBe('2025-03-09T04:30:00-04:00');
    expect(c.breaches[0]!.breachedByMinutes).toBe(30);
  });

  it('plans without numbers, unknown plans, no plan and no ticket are gaps, not guesses', async () => {
    const policy = await loadSlaPolicy();
    const t = { ticket: { createdAt: '2025-03-01T09:20:00+08:00' } };
    expect(computeSla(incident({ account: { site: 'cn', plan: '顶级支持计划' }, ...t }), 'P0', policy, 0).gaps).toEqual(['no-targets']);
    expect(computeSla(incident({ account: { site: 'cn', plan: 'Platinum' }, ...t }), 'P0', policy, 0).gaps).toEqual(['unknown-plan']);
    expect(computeSla(incident({ account: { site: 'cn' }, ...t }), 'P0', policy, 0).gaps).toEqual(['no-plan']);
    const unfiled = computeSla(incident({}), 'P0', policy, 0);
    expect(unfiled.gaps).toEqual(['no-ticket']);
    expect(unfiled.targets).toEqual([]);
    expect(unfiled.followUp.nextDue).toBeUndefined();
  });

  it('the shipped policy has only unverified numbers, each with a source and a SOW version', async () => {
    const policy = await loadSlaPolicy();
    expect(policy.targets.map((t) => [t.plan, t.level, t.firstResponseMinutes, t.verified])).toEqual([
      ['enterprise', 'P0', 120, false],
      ['enterprise', 'P1', 240, false],
      ['enterprise', 'P2', 480, false],
      ['enterprise', 'P3', 1440, false],
    ]);
    for (const t of policy.targets) {
      expect(t.source).toBe('https://help.aliyun.com/document_detail/37231.html');
      expect(t.sowVersion).toBe('unknown');
    }
  });

  it('follow-up cadence counts from the last update, else from creation', async () => {
    const policy = await loadSlaPolicy();
    const c = computeSla(incident({ ticket: { createdAt: '2025-03-01T09:20:00+08:00', lastUpdateAt: '2025-03-01T10:00:00+08:00' } }), 'P0', policy, ms('2025-03-01T10:40:00+08:00'));
    expect(c.followUp).toMatchObject({ everyMinutes: 30, nextDue: '2025-03-01T10:30:00+08:00', marginMs: -10 * 60000 });
  });
});

const USER_POLICY: SlaPolicy = {
  policyVersion: 1,
  plans: [{ id: 'ours', names: ['Enterprise', '企业级支持计划'] }],
  targets: [{ plan: 'ours', level: 'P0', firstResponseMinutes: 15, resolutionMinutes: 240, source: 'Contract 2025-17, annex B', verified: true, sowVersion: '2025-06-16' }],
  followUp: { source: 'our runbook', P0: { everyMinutes: 15 }, P1: { everyMinutes: 60 }, P2: { everyMinutes: 240 }, P3: { everyMinutes: 1440 } },
};

describe('aliscrub sla', () => {
  it('exit 1 and BREACHED when a target is breached; UNVERIFIED shown', async () => {
    const run = await cli(['sla', P0, '--now', '2025-03-01T12:00:00+08:00'], { cwd: INCIDENTS });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('first response: target 2 h (UNVERIFIED, SOW unknown), due 2025-03-01 11:20 (UTC+08:00): BREACHED by 40 min (still open)');
    expect(run.stdout).toContain('breaches: 1 (against unverified targets: check your SOW before claiming)');
  });

  it('exit 0 when nothing is breached yet', async () => {
    const run = await cli(['sla', P0, '--now', '2025-03-01T10:00:00+08:00'], { cwd: INCIDENTS });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('due in 1 h 20 min');
    expect(run.stdout).toContain('breaches: none');
  });

  it('--format json: the clock with breach records', async () => {
    const run = await cli(['sla', P0, '--format', 'json', '--now', '2025-03-01T04:00:00Z'], { cwd: INCIDENTS });
    expect(run.code).toBe(1);
    const r = JSON.parse(run.stdout) as { breached: boolean; apiSeverity: number; apiSeverityBasis: string; clock: { zone: string; now: string; breaches: Array<{ verified: boolean }> } };
    expect(r).toMatchObject({ breached: true, apiSeverity: 2, apiSeverityBasis: 'policy' });
    expect(r.clock.zone).toBe('Asia/Shanghai');
    expect(r.clock.now).toBe('2025-03-01T12:00:00+08:00');
    expect(r.clock.breaches[0]!.verified).toBe(false);
  });

  it('--sla-policy: the user\'s contract numbers (verified) replace the defaults, resolution targets included', async () => {
    const dir = tree({ 'sla.json': JSON.stringify(USER_POLICY) }, 'aliscrub-sla-');
    const run = await cli(['sla', P0, '--sla-policy', 'sla.json', '--now', '2025-03-01T09:30:00+08:00'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('first response: target 15 min (verified, SOW 2025-06-16), due 2025-03-01 09:35 (UTC+08:00): due in 5 min');
    expect(run.stdout).toContain('resolution: target 4 h (verified, SOW 2025-06-16)');
    expect(run.stdout).not.toContain('UNVERIFIED');
    const loaded = await loadIncident(P0, INCIDENTS);
    expect(computeSla(loaded.incident, 'P0', USER_POLICY, ms('2025-03-01T13:30:00+08:00')).breaches.map((b) => [b.target, b.verified])).toEqual([
      ['firstResponse', true],
      ['resolution', true],
    ]);
  });

  it('exit 2 on bad input: a bad --now, a missing file, an inconsistent policy', async () => {
    expect((await cli(['sla', P0, '--now', '2025-03-01 12:00'], { cwd: INCIDENTS })).code).toBe(2);
    const missing = await cli(['sla', 'nope.yaml'], { cwd: INCIDENTS });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml: cannot read the incident file (ENOENT)');
    const dir = tree({ 'sla.json': JSON.stringify({ ...USER_POLICY, targets: [{ ...USER_POLICY.targets[0], plan: 'other' }] }) }, 'aliscrub-sla-');
    const bad = await cli(['sla', P0, '--sla-policy', 'sla.json'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sla.json: /targets/0/plan: names a plan that is not in /plans');
    const noVerified = tree({ 'sla.json': JSON.stringify({ ...USER_POLICY, targets: [{ plan: 'ours', level: 'P0', firstResponseMinutes: 15, source: 's', sowVersion: 'x' }] }) }, 'aliscrub-sla-');
    const nv = await cli(['sla', P0, '--sla-policy', 'sla.json'], { cwd: noVerified });
    expect(nv.code).toBe(2);
    expect(nv.stderr).toContain("sla.json: /targets/0: missing required field 'verified'");
  });

  it('prints no planted value', async () => {
    const run = await cli(['sla', path.join(INCIDENTS, 'canary-incident.yaml'), '--format', 'json', '--now', '2025-03-01T12:00:00+08:00'], { cwd: INCIDENTS });
    for (const v of ['LTAI5tQ8mZr2XbK9vNc4Wd7P', 'Bzdt4hEhMEcBLiAyOeGC6Kc5xI4SoU', '13812345678', 'oncall.lead@example-corp.cn']) expect(run.stdout + run.stderr).not.toContain(v);
  });
});

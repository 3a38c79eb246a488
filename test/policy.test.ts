/**
 * Redaction policy (--keep): identifiers support needs can stay visible; secrets never can.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPrivateIp } from '../src/detect/policy.js';
import { cli } from './helpers/cli.js';

function dirWith(content: string): string {
  const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-policy-'));
  mkdirSync(path.join(d, 'in'));
  writeFileSync(path.join(d, 'in', 'a.log'), content);
  return d;
}

const LOG = [
  'client 10.0.3.7 via 192.168.1.20 from 203.0.113.9',
  'RoleArn acs:ram::1234567890123456:role/ops and acs:ram::9876543210987654:role/vendor',
  'access_key_id=LTAI5tQ8mZr2XbK9vNc4Wd7P',
  '',
].join('\n');

async function redacted(args: string[]): Promise<string> {
  const d = dirWith(LOG);
  const r = await cli(['redact', 'in', '--out-dir', 'out', ...args], { cwd: d });
  expect(r.code).toBe(0);
  const { readFileSync } = await import('node:fs');
  return readFileSync(path.join(d, 'out', 'evidence', 'a.log'), 'utf8');
}

describe('--keep', () => {
  it('redacts every identifier by default', async () => {
    const out = await redacted([]);
    expect(out).not.toContain('10.0.3.7');
    expect(out).not.toContain('1234567890123456');
  });

  it('private-ips keeps private addresses and still redacts public ones', async () => {
    const out = await redacted(['--keep', 'private-ips']);
    expect(out).toContain('10.0.3.7');
    expect(out).toContain('192.168.1.20');
    expect(out).not.toContain('203.0.113.9');
  });

  it('account:<id> keeps that account ID only; secrets stay redacted whatever is kept', async () => {
    const out = await redacted(['--keep', 'account:1234567890123456']);
    expect(out).toContain('1234567890123456');
    expect(out).not.toContain('9876543210987654');
    const all = await redacted(['--keep', 'identifier', '--keep', 'pii']);
    expect(all).toContain('9876543210987654');
    expect(all).toContain('203.0.113.9');
    expect(all).not.toContain('LTAI5tQ8mZr2XbK9vNc4Wd7P');
  });

  it('rejects keeping secrets, naming the flag', async () => {
    const d = dirWith(LOG);
    const r = await cli(['scan', 'in', '--keep', 'secret'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--keep');
    expect(r.stdout).toBe('');
  });

  it('classifies private ranges', () => {
    for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '127.0.0.1', '169.254.1.1', '100.64.0.1', '::1', 'fe80::1', 'fd00::1']) expect(isPrivateIp(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '203.0.113.9', '2001:db8::1']) expect(isPrivateIp(ip), ip).toBe(false);
  });
});

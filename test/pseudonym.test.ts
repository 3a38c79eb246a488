/**
 * Per-incident tokens and pseudonyms across files, parts and reruns; split parts; unmask/forget;
 * and no planted value anywhere in any output byte (bundles decompressed, parts, index, CLI output,
 * state files).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import unzipper from 'unzipper';
import { archive } from '../src/bulk/archive.js';
import type { ArchiveOptions } from '../src/bulk/archive.js';
import type { ArchiveIndex } from '../src/bulk/index-file.js';
import type { Manifest } from '../src/manifest.js';
import { IncidentState, decryptMap, encryptMap } from '../src/pseudonym/state.js';
import { IncidentMinter, ipv4Pseudonym, unmaskText } from '../src/pseudonym/minter.js';
import { verifyBundle } from '../src/verify.js';
import { cli } from './helpers/cli.js';

const IP = '47.96.201.33';
const ACCOUNT = '1873260094415527';
const EMAIL = 'wang.fang@corp-example.cn';
const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const PLANTED = [IP, ACCOUNT, EMAIL, AK, '118.31.77.204'];

/** Lower-case filler words: compressible like text, never a finding. */
function filler(seed: number, bytes: number): string {
  let a = seed;
  const rnd = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  const words: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = Array.from({ length: 3 + Math.floor(rnd() * 6) }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
    words.push(w);
    n += w.length + 1;
  }
  return words.join(' ').replace(/(.{1,100}) /g, '$1\n');
}

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-pseudo-'));
const root = path.join(work, 'root');
const state = path.join(work, 'state');

function write(rel: string, text: string): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
}

async function entriesOf(zip: string): Promise<Map<string, Buffer>> {
  const dir = await unzipper.Open.file(zip);
  const m = new Map<string, Buffer>();
  for (const f of dir.files) m.set(f.path, await f.buffer());
  return m;
}

/** Every file under `dir`, zips also decompressed entry by entry. */
async function allBytes(dir: string): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  const walk = async (d: string): Promise<void> => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) await walk(p);
      else {
        out.push([p, readFileSync(p)]);
        if (p.endsWith('.zip')) for (const [e, b] of await entriesOf(p)) out.push([`${p}!/${e}`, b]);
      }
    }
  };
  await walk(dir);
  return out;
}

const opts = (o: Partial<ArchiveOptions>): ArchiveOptions => ({ inputs: [root], cwd: work, outDir: path.join(work, 'out'), stateDir: state, sourceDateEpoch: 1_700_000_000, ...o });

beforeAll(() => {
  // acme: the planted IP, account ID and e-mail in three files large enough to need two parts.
  for (const [i, f] of ['a.log', 'b/b.log', 'c.log'].entries())
    write(`acme/${f}`, `${filler(i + 1, 30_000)}\nclient ${IP} "AccountId": "${ACCOUNT}" owner ${EMAIL} key AccessKeyId=${AK}\n${filler(i + 10, 30_000)}\n`);
  // other: the same values in another incident.
  write('other/x.log', `client ${IP} "AccountId": "${ACCOUNT}" owner ${EMAIL}\nfrom 118.31.77.204\n`);
});

describe('per-incident tokens and split parts', () => {
  let index: ArchiveIndex;
  const out = path.join(work, 'out');
  let cliOutput = '';

  beforeAll(async () => {
    const r = await cli(['archive', 'root', '--out', 'out', '--state', 'state', '--max-part-size', '60KB', '-q'], { cwd: work, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    cliOutput = r.stdout + r.stderr;
    index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as ArchiveIndex;
  });

  it('splits acme into parts under the limit; each verifies alone; together they hold every file once', async () => {
    const acme = index.incidents.find((e) => e.incident === 'acme')!;
    expect(acme.bundles.length).toBeGreaterThanOrEqual(2);
    const seen: string[] = [];
    for (const [i, b] of acme.bundles.entries()) {
      expect(b.file).toBe(`acme/acme-part${i + 1}of${acme.bundles.length}.zip`);
      const file = path.join(out, b.file);
      expect(statSync(file).size).toBeLessThanOrEqual(60_000);
      expect((await verifyBundle(file)).problems).toEqual([]);
      const m = JSON.parse((await entriesOf(file)).get('manifest.json')!.toString()) as Manifest;
      expect(m.part).toMatchObject({ index: i + 1, count: acme.bundles.length });
      expect(m.part!.set.files).toBe(3);
      for (const f of m.files) seen.push(f.path);
    }
    expect(seen.sort()).toEqual(['a.log', 'b/b.log', 'c.log']);
  });

  it('one token per value in every file and part of an incident, another in another incident', async () => {
    const tokensIn = async (files: string[]): Promise<Set<string>> => {
      const s = new Set<string>();
      for (const f of files)
        for (const [n, b] of await entriesOf(path.join(out, f)))
          if (n.startsWith('evidence/')) for (const t of b.toString().match(/\[REDACTED:ipv4-address:[0-9a-f]{12}\]/g) ?? []) s.add(t);
      return s;
    };
    const acme = await tokensIn(index.incidents.find((e) => e.incident === 'acme')!.bundles.map((b) => b.file));
    const other = await tokensIn(index.incidents.find((e) => e.incident === 'other')!.bundles.map((b) => b.file));
    expect(acme.size).toBe(1);
    expect(other.size).toBe(2); // the shared IP and 118.31.77.204
    expect([...other]).not.toContain([...acme][0]);
    // The same token in each of the three files, across at least two parts.
    let files = 0;
    for (const b of index.incidents.find((e) => e.incident === 'acme')!.bundles)
      for (const [n, buf] of await entriesOf(path.join(out, b.file))) if (n.startsWith('evidence/') && buf.includes([...acme][0]!)) files++;
    expect(files).toBe(3);
  });

  it('a rerun with --force gives the same bytes (same state)', async () => {
    const again = path.join(work, 'out-again');
    await archive(opts({ outDir: again, maxPartBytes: 60_000, jobs: 2, concurrency: 3 }));
    const a = JSON.parse(readFileSync(path.join(again, 'index.json'), 'utf8')) as ArchiveIndex;
    expect(a.incidents.map((e) => e.bundles.map((b) => b.sha256))).toEqual(index.incidents.map((e) => e.bundles.map((b) => b.sha256)));
  });

  it('unmask restores the exact original text of a reply; forget removes the map', async () => {
    const part = (await entriesOf(path.join(out, index.incidents.find((e) => e.incident === 'acme')!.bundles[0]!.file))).get('evidence/a.log')!.toString();
    const line = part.split('\n').find((l) => l.includes('[REDACTED:'))!;
    const original = `client ${IP} "AccountId": "${ACCOUNT}" owner ${EMAIL} key AccessKeyId=${AK}`;
    const reply = `Hello, we looked at this line:\n${line}\nand [REDACTED:ipv4-address:000000000000] is not yours.\n`;
    writeFileSync(path.join(work, 'reply.txt'), reply);
    const r = await cli(['unmask', '--incident', 'acme', '--state', 'state', 'reply.txt'], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Hello, we looked at this line:\n${original}\nand [REDACTED:ipv4-address:000000000000] is not yours.\n`);
    expect(r.stderr).toMatch(/4 replacement\(s\); 1 token\(s\) not in this incident's map/);
    // Another incident's map does not unmask acme's tokens.
    const o = await cli(['unmask', '--incident', 'other', '--state', 'state', 'reply.txt'], { cwd: work });
    expect(o.stdout).toBe(reply);
    // No map, no unmask.
    expect((await cli(['unmask', '--incident', 'nope', '--state', 'state', 'reply.txt'], { cwd: work })).code).toBe(2);
    const f = await cli(['forget', '--incident', 'other', '--state', 'state'], { cwd: work });
    expect(f.code).toBe(0);
    expect((await cli(['unmask', '--incident', 'other', '--state', 'state', 'reply.txt'], { cwd: work })).code).toBe(2);
  });

  it('no planted value in any output byte: bundles, parts, index, CLI output, state files', async () => {
    const haystacks = [...(await allBytes(out)), ...(await allBytes(path.join(work, 'out-again'))), ...(await allBytes(state)), ['cli', Buffer.from(cliOutput)] as [string, Buffer]];
    for (const [name, buf] of haystacks) for (const v of PLANTED) expect(buf.includes(v), `${v} in ${name}`).toBe(false);
    // State files are private.
    for (const [name] of await allBytes(state)) expect(statSync(name).mode & 0o077).toBe(0);
  });
});

describe('shape-preserving pseudonyms', () => {
  it('IPv4 → 240.0.0.0/4 and e-mail → user-<hex>@example.invalid, consistent across parts; verify passes; unmask restores', async () => {
    const out = path.join(work, 'out-shape');
    const sstate = path.join(work, 'state-shape');
    await archive(opts({ outDir: out, stateDir: sstate, maxPartBytes: 60_000, pseudonyms: 'shape' }));
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as ArchiveIndex;
    const acme = index.incidents.find((e) => e.incident === 'acme')!;
    const ips = new Set<string>();
    const emails = new Set<string>();
    for (const b of acme.bundles) {
      const file = path.join(out, b.file);
      expect((await verifyBundle(file)).problems).toEqual([]);
      const e = await entriesOf(file);
      expect((JSON.parse(e.get('manifest.json')!.toString()) as Manifest).pseudonyms).toBe('shape');
      for (const [n, buf] of e) {
        if (!n.startsWith('evidence/')) continue;
        const text = buf.toString();
        for (const m of text.match(/client (\S+) /g) ?? []) ips.add(m);
        for (const m of text.match(/user-[0-9a-f]{12}@example\.invalid/g) ?? []) emails.add(m);
        expect(text).toMatch(/AccessKeyId=\[REDACTED:alibaba-access-key-id:[0-9a-f]{12}\]/); // secrets stay typed tokens
      }
    }
    expect(ips.size).toBe(1);
    expect([...ips][0]).toMatch(/^client 2(4\d|5[0-5])\.\d+\.\d+\.\d+ $/);
    expect(emails.size).toBe(1);
    const reply = `Traffic from ${[...ips][0]!.slice(7, -1)} (${[...emails][0]}) looks fine.`;
    const st = (await IncidentState.open(sstate, 'acme', false))!;
    expect(unmaskText(reply, st.entries).text).toBe(`Traffic from ${IP} (${EMAIL}) looks fine.`);
    for (const [name, buf] of await allBytes(out)) for (const v of PLANTED) expect(buf.includes(v), `${v} in ${name}`).toBe(false);
  });

  it('colliding pseudonyms are demoted to typed tokens, deterministically', async () => {
    const croot = path.join(work, 'croot');
    mkdirSync(path.join(croot, 'c1'), { recursive: true });
    const ipsIn = Array.from({ length: 6 }, (_, i) => `47.96.10.${i + 1}`);
    writeFileSync(path.join(croot, 'c1', 'a.log'), ipsIn.map((ip) => `from ${ip} ok`).join('\n'));
    const run = async (dir: string): Promise<string> => {
      await archive({ inputs: [croot], cwd: work, outDir: path.join(work, dir), stateDir: path.join(work, 'cstate'), pseudonyms: 'shape', ipv4Space: 2, force: true });
      const e = await entriesOf(path.join(work, dir, 'c1.zip'));
      return e.get('evidence/a.log')!.toString();
    };
    const first = await run('cout1');
    // Six values in a space of two addresses: at most... none may share a pseudonym.
    const shown = first.split('\n').map((l) => l.split(' ')[1]!);
    const pseudo = shown.filter((s) => !s.startsWith('['));
    expect(new Set(pseudo).size).toBe(pseudo.length);
    expect(shown.some((s) => s.startsWith('[REDACTED:ipv4-address:'))).toBe(true);
    expect(await run('cout2')).toBe(first);
  });

  it('the map is encrypted and bound to its incident', () => {
    const key = Buffer.alloc(32, 7);
    const blob = encryptMap({ entries: new Map([['[REDACTED:x:0123456789ab]', Buffer.from(IP).toString('base64')]]), demoted: new Set() }, key, 'sid-a');
    expect(blob.includes(IP)).toBe(false);
    expect(blob.includes(Buffer.from(IP).toString('base64'))).toBe(false);
    expect(decryptMap(blob, key, 'sid-a').entries.get('[REDACTED:x:0123456789ab]')).toBe(Buffer.from(IP).toString('base64'));
    expect(() => decryptMap(blob, key, 'sid-b')).toThrow(/cannot be decrypted/);
    expect(() => decryptMap(blob, Buffer.alloc(32, 8), 'sid-a')).toThrow(/cannot be decrypted/);
    expect(ipv4Pseudonym(key, Buffer.from(IP))).toBe(ipv4Pseudonym(key, Buffer.from(IP)));
    expect(ipv4Pseudonym(key, Buffer.from(IP))).not.toBe(ipv4Pseudonym(Buffer.alloc(32, 9), Buffer.from(IP)));
    void IncidentMinter;
    void createHash;
  });
});

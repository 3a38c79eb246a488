/**
 * `archive --max-part-size --split-oversized`: a text file larger than a part is cut at line ends
 * into pieces that each fit, verify on their own and, concatenated, give the whole redacted file.
 * Without the flag the file stays whole and the incident is reported partial.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import unzipper from 'unzipper';
import { afterAll, describe, expect, it } from 'vitest';
import { archive } from '../src/bulk/archive.js';
import { verifyBundle } from '../src/verify.js';

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-split-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = path.join(work, 'root');
const state = path.join(work, 'state');

// One incident: a ~600 KB log that compresses poorly (varied IDs, public IPs to redact) and a small one.
mkdirSync(path.join(root, 'inc-big'), { recursive: true });
let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
const lines: string[] = [];
for (let i = 0; lines.join('\n').length < 600_000; i++)
  lines.push(`2025-03-01T09:${String(i % 60).padStart(2, '0')}:00Z req=${hex(32)} ${i % 25 === 0 ? `client=203.0.${Math.floor(rnd() * 250)}.${1 + Math.floor(rnd() * 250)}` : 'client=-'} 处理订单 trace=${hex(16)}`);
writeFileSync(path.join(root, 'inc-big', 'big.log'), `${lines.join('\n')}\n`);
writeFileSync(path.join(root, 'inc-big', 'small.log'), 'INFO started\n');

async function entries(zip: string): Promise<Map<string, Buffer>> {
  const z = await unzipper.Open.file(zip);
  const out = new Map<string, Buffer>();
  for (const f of z.files) out.set(f.path, await f.buffer());
  return out;
}

const base = { inputs: [root], cwd: work, stateDir: state, sourceDateEpoch: 1_700_000_000 };

describe('split oversized files', () => {
  it('cuts the big file into line-aligned pieces that fit, verify, and rebuild the whole', async () => {
    const whole = await archive({ ...base, outDir: path.join(work, 'whole') });
    expect(whole.outcomes[0]!.entry.status).toBe('ok');
    const single = (await entries(path.join(work, 'whole', 'inc-big.zip'))).get('evidence/big.log')!;
    expect(single.toString()).toContain('[REDACTED:ipv4-address:');

    const max = 64_000;
    const res = await archive({ ...base, outDir: path.join(work, 'split'), maxPartBytes: max, splitOversized: true });
    const inc = res.outcomes[0]!.entry;
    expect(inc.status).toBe('ok');
    const folder = path.join(work, 'split', 'inc-big');
    const parts = readdirSync(folder).filter((n) => n.endsWith('.zip')).sort((a, b) => Number(/part(\d+)/.exec(a)![1]) - Number(/part(\d+)/.exec(b)![1]));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    const pieces = new Map<string, Buffer>();
    for (const p of parts) {
      const file = path.join(folder, p);
      expect(statSync(file).size).toBeLessThanOrEqual(max);
      const v = await verifyBundle(file);
      expect(v.problems).toEqual([]);
      for (const [name, data] of await entries(file)) if (name.startsWith('evidence/big.log.')) pieces.set(name, data);
    }
    const names = [...pieces.keys()].sort();
    expect(names[0]).toBe('evidence/big.log.001');
    expect(names.length).toBeGreaterThanOrEqual(2);
    for (const data of pieces.values()) expect(data.length === 0 || data[data.length - 1] === 0x0a).toBe(true);
    expect(Buffer.concat(names.map((n) => pieces.get(n)!)).equals(single)).toBe(true);
  });

  it('without the flag the file stays whole and the incident is partial', async () => {
    const res = await archive({ ...base, outDir: path.join(work, 'nosplit'), maxPartBytes: 64_000 });
    expect(res.outcomes[0]!.entry.status).toBe('partial');
    await expect(archive({ ...base, outDir: path.join(work, 'bad'), splitOversized: true })).rejects.toThrow('--split-oversized');
  });
});

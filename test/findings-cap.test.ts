/**
 * Memory does not grow with the number of findings: beyond a per-detector cap, pii/identifier
 * findings are redacted and counted but not listed. Secrets are always listed; totals stay exact;
 * the gate lists everything it can fail on.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { Scanner } from '../src/detect/scanner.js';
import { Fingerprinter } from '../src/fingerprint.js';
import { redactBuffer } from '../src/redact/redactor.js';
import { redactToDir, scan } from '../src/run.js';
import { validateManifest } from '../src/manifest-schema.js';
import { cli } from './helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-cap-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ruleset = await loadRuleset();
const scanner = new Scanner(ruleset.detectors);
const akExample = ruleset.detectors.find((d) => d.id === 'alibaba-access-key-id')!.spec.examples.match[0]!;
const ak = parseExample(akExample);
const akValue = ak.text.slice(ak.spans[0]![0], ak.spans[0]![1]);

/** 1500 public IPv4 addresses and 1200 AccessKey IDs (secrets must never be capped). */
const lines: string[] = [];
for (let i = 0; i < 1500; i++) lines.push(`GET /api client=198.51.${Math.floor(i / 250)}.${(i % 250) + 1} status=200`);
for (let i = 0; i < 1200; i++) lines.push(ak.text);
const doc = Buffer.from(`${lines.join('\n')}\n`);
const cap = { perDetector: 1000, uncapped: ['secret' as const] };

describe('findings cap', () => {
  it('lists 1000 identifiers, counts all 1500, redacts every one, and lists every secret', async () => {
    const { output, result } = await redactBuffer(scanner, new Fingerprinter(Buffer.alloc(32, 1)), doc, undefined, undefined, cap);
    expect(output.toString()).not.toMatch(/198\.51\.\d+\.\d+/);
    expect(output.toString()).not.toContain(akValue);
    expect(result.counts['ipv4-address']).toBe(1500);
    expect(result.findings.filter((f) => f.detector === 'ipv4-address')).toHaveLength(1000);
    expect(result.omitted).toEqual([{ detector: 'ipv4-address', category: 'identifier', count: 500 }]);
    const secrets = result.findings.filter((f) => f.category === 'secret');
    expect(secrets.length).toBeGreaterThanOrEqual(1200);
    // Streaming stays exact for the listed findings and the omitted counts.
    const streamed = await redactBuffer(scanner, new Fingerprinter(Buffer.alloc(32, 1)), doc, 4099, 0, cap);
    expect(streamed.output.equals(output)).toBe(true);
    expect(streamed.result.findings).toEqual(result.findings);
    expect(streamed.result.omitted).toEqual(result.omitted);
  });

  it('keeps manifest totals exact and the manifest valid; the CLI gate lists what it fails on', async () => {
    const dir = path.join(work, 'in');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'access.log'), doc);
    const res = await scan({ inputs: [dir], cwd: work });
    const f = res.manifest.files[0]!;
    expect(f.status).toBe('redacted');
    expect(res.manifest.totals.byDetector['ipv4-address']).toBe(1500);
    expect(res.manifest.totals.byCategory.identifier).toBeGreaterThanOrEqual(1500);
    expect('omitted' in f && f.omitted).toEqual([{ detector: 'ipv4-address', category: 'identifier', count: 500 }]);
    expect(validateManifest(res.manifest)).toEqual([]);
    // scan writes nothing (no bytesOut/sha256, no tokens) but records exactly what redact records.
    expect('sha256' in f || 'bytesOut' in f).toBe(false);
    const written = await redactToDir({ inputs: [dir], cwd: work, key: Buffer.alloc(32, 2) }, path.join(work, 'out'));
    const again = await scan({ inputs: [dir], cwd: work, key: Buffer.alloc(32, 2) });
    const { bytesOut, sha256, ...same } = written.manifest.files[0] as typeof f & { bytesOut: number; sha256: string };
    expect(bytesOut).toBeGreaterThan(0);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.manifest.files[0]).toEqual(same);

    const text = await cli(['scan', dir], { cwd: work });
    expect(text.stdout).toContain('500 more redacted but not listed (pii 0, identifier 500');
    const gated = await cli(['scan', dir, '--fail-on', 'identifier', '--format', 'json'], { cwd: work });
    expect(gated.code).toBe(1);
    const manifest = JSON.parse(gated.stdout) as { files: Array<{ findings: Array<{ detector: string }>; omitted?: unknown }> };
    expect(manifest.files[0]!.findings.filter((x) => x.detector === 'ipv4-address')).toHaveLength(1500);
    expect(manifest.files[0]!.omitted).toBeUndefined();
  });
});

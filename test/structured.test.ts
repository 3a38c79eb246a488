/**
 * Structured files (issue 4 item 4): values of secret-like keys are redacted even when no detector
 * matches them, and every output still parses with the same structure. Also: --include-unscanned
 * (item 6) and screenshots inside archives. Fixtures come from fixtures/formats/structured.mjs.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import unzipper from 'unzipper';
import { parseAllDocuments } from 'yaml';
import { SaxesParser } from 'saxes';
import { parseTree } from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import type { SNode } from '../src/structure/tree.js';
import { STRUCTURED_CANARIES, STRUCTURED_SURVIVORS, makeStructured } from '../fixtures/formats/structured.mjs';
import { zip } from '../fixtures/formats/archives.mjs';
import { IMAGE_CANARIES, makePng } from '../fixtures/formats/images.mjs';
import { pack, scan } from '../src/run.js';
import type { FileRecord, Manifest } from '../src/manifest.js';
import { validateManifest } from '../src/manifest-schema.js';
import { loadRuleset } from '../src/detect/load.js';
import { Scanner } from '../src/detect/scanner.js';
import { Fingerprinter } from '../src/fingerprint.js';
import { createRedactor } from '../src/redact/redactor.js';
import { AutoDecode, AutoEncode } from '../src/source/encoding.js';
import type { EncodingState } from '../src/source/encoding.js';
import { StructureStage } from '../src/structure/stage.js';
import { formatFor } from '../src/structure/formats.js';
import { SECRET_KEYS_FILE, compileSecretKeys, load as loadKeyFile, loadSecretKeys, normaliseKey } from '../src/structure/keys.js';
import type { SecretKeysSpec } from '../src/structure/keys.js';
import type { StructureContext } from '../src/structure/document.js';
import { cli } from './helpers/cli.js';

const KEY = Buffer.alloc(32, 7);
const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-structured-'));
const names = makeStructured(path.join(dir, 'in'));
writeFileSync(path.join(dir, 'key'), KEY);
const entries = new Map<string, Buffer>();
let manifest: Manifest;
/** Everything aliscrub wrote anywhere: manifest, REDACTIONS.md, reports and messages. */
const outputs: string[] = [];

/** A canary in every form a value may take in these files. */
function forms(v: string): Buffer[] {
  return [Buffer.from(v), Buffer.from(encodeURIComponent(v)), Buffer.from(Buffer.from(v).toString('base64')), Buffer.from(JSON.stringify(v).slice(1, -1))];
}

function leaks(data: Buffer): string[] {
  return Object.entries(STRUCTURED_CANARIES)
    .filter(([, v]) => forms(v).some((f) => data.includes(f)))
    .map(([k]) => k);
}

/** HAR bodies are checked decoded too. */
function harBodies(text: string): Buffer[] {
  const har = JSON.parse(text) as { log: { entries: Array<{ response: { content: { text?: string; encoding?: string } } }> } };
  return har.log.entries.map((e) => (e.response.content.encoding === 'base64' ? Buffer.from(e.response.content.text ?? '', 'base64') : Buffer.from(e.response.content.text ?? '')));
}

beforeAll(async () => {
  const out = path.join(dir, 'b.zip');
  manifest = (await pack({ inputs: ['in'], cwd: dir, key: KEY }, out)).manifest;
  const z = await unzipper.Open.file(out);
  for (const f of z.files) entries.set(f.path, await f.buffer());
  outputs.push(entries.get('manifest.json')!.toString(), entries.get('REDACTIONS.md')!.toString());
  for (const format of ['text', 'json', 'report', 'sarif', 'github']) {
    const r = await cli(['scan', 'in', '--key-file', 'key', '--format', format, '--verbose'], { cwd: dir });
    expect(r.code).toBe(1);
    outputs.push(r.stdout, r.stderr);
  }
  const p = await cli(['pack', 'in', '--out', 'c.zip', '--key-file', 'key', '--verbose'], { cwd: dir });
  outputs.push(p.stdout, p.stderr);
  const v = await cli(['verify', 'c.zip'], { cwd: dir });
  expect(v.code, v.stdout).toBe(0);
  outputs.push(v.stdout, v.stderr);
});

const rec = (name: string): Extract<FileRecord, { status: 'redacted' | 'clean' }> => {
  const r = manifest.files.find((f) => f.path === name);
  if (r?.status !== 'redacted') throw new Error(`${name}: ${r?.status}`);
  return r;
};
const outText = (name: string): string => entries.get(`evidence/${name}`)!.toString('utf8');
const inText = (name: string): string => readFileSync(path.join(dir, 'in', name), 'utf8');

describe('structured fixtures: no planted value survives', () => {
  it('the manifest is valid and records each structured format', () => {
    expect(validateManifest(manifest)).toEqual([]);
    const got = Object.fromEntries(names.map((n) => [n, rec(n).structure && `${rec(n).structure!.format}:${rec(n).structure!.keyRules}`]));
    expect(got).toEqual({
      'api-dump.json': 'json:applied',
      'events.ndjson': 'ndjson:partial',
      'console.har': 'har:applied',
      'application.yaml': 'yaml:applied',
      'credentials.ini': 'ini:applied',
      'app.properties': 'properties:applied',
      '.env': 'env:applied',
      'settings.xml': 'xml:applied',
    });
    expect(rec('console.har').structure!.bodiesRemoved).toBe(1);
    expect(rec('events.ndjson').structure!.reason).toBe('not-parseable');
  });

  for (const name of names) {
    it(`${name}: no planted value in the bundle; survivors intact`, () => {
      const data = entries.get(`evidence/${name}`)!;
      expect(leaks(data)).toEqual([]);
      if (name.endsWith('.har')) for (const b of harBodies(data.toString())) expect(leaks(b)).toEqual([]);
      for (const s of STRUCTURED_SURVIVORS[name] ?? []) expect(data.toString().includes(s), `${name} lost '${s}'`).toBe(true);
      expect(rec(name).findings.length).toBeGreaterThan(0);
    });
  }

  it('no planted value in the manifest, REDACTIONS.md, any report format or any message', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const o of outputs) expect(leaks(Buffer.from(o))).toEqual([]);
  });

  it('the key rules are what removes values no detector knows (this test can fail)', async () => {
    const res = await scan({ inputs: ['in'], cwd: dir, key: KEY, disable: ['secret-key-value'] });
    const only = res.manifest.files.flatMap((f) => (f.status === 'redacted' || f.status === 'clean' ? [f.path] : []));
    expect(only).toHaveLength(names.length);
    const out = path.join(dir, 'without.zip');
    await pack({ inputs: ['in'], cwd: dir, key: KEY, disable: ['secret-key-value'] }, out);
    const z = await unzipper.Open.file(out);
    const all = Buffer.concat(await Promise.all(z.files.map((f) => f.buffer())));
    // One value per format that only the key rules remove (14 of the 31 planted values).
    expect(leaks(all)).toEqual(expect.arrayContaining(['jsonNumberPin', 'jsonPairValue', 'ndjsonToken', 'harParam', 'harBodyJson', 'harCookieValue', 'yamlEnvPair', 'iniSecret', 'envKey', 'xmlHadoop']));
  });

  it('secret-key-value is a rule like any detector: manifest ruleset, SARIF rules, detectors listing', async () => {
    expect(manifest.ruleset.detectors).toContainEqual({ id: 'secret-key-value', category: 'secret' });
    const sarif = JSON.parse((await cli(['scan', 'in', '--format', 'sarif'], { cwd: dir })).stdout) as { runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; ruleIndex?: number }> }> };
    const rules = sarif.runs[0]!.tool.driver.rules.map((r) => r.id);
    expect(rules).toContain('secret-key-value');
    const res = sarif.runs[0]!.results.find((r) => r.ruleId === 'secret-key-value')!;
    expect(rules[res.ruleIndex!]).toBe('secret-key-value');
    const list = await cli(['detectors'], { cwd: dir });
    expect(list.stdout).toMatch(/^secret-key-value +secret /m);
    expect((await cli(['detectors', '--export-regex'], { cwd: dir })).stdout).not.toContain('secret-key-value');
    // REDACTIONS.md prints descriptions: the structural one must hold nothing a detector reports.
    expect(entries.get('REDACTIONS.md')!.toString()).toContain('| secret-key-value |');
    const scanner = new Scanner((await loadRuleset()).detectors);
    const keys = await loadSecretKeys();
    expect(scanner.forFile().scan(Buffer.from(keys.detector.description), 0, true)).toEqual([]);
  });
});

/** Leaf paths of a JSON value: same paths = same structure (only values changed). */
function paths(v: unknown, at = '$'): string[] {
  if (Array.isArray(v)) return [`${at}[]`, ...v.flatMap((x, i) => paths(x, `${at}[${i}]`))];
  if (v !== null && typeof v === 'object') return [`${at}{}`, ...Object.entries(v).flatMap(([k, x]) => paths(x, `${at}.${k}`))];
  return [at];
}

/** A small INI/.env/.properties reader for the test: section + key list. */
function iniKeys(text: string): string[] {
  const keys: string[] = [];
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (!l || l.startsWith('#') || l.startsWith(';')) continue;
    if (l.startsWith('[')) section = l;
    else keys.push(`${section}${l.replace(/^export /, '').split(/[=:]/)[0]!.trim()}`);
  }
  return keys;
}

function xmlShape(text: string): string[] {
  const out: string[] = [];
  const p = new SaxesParser();
  p.on('error', (e) => {
    throw e;
  });
  p.on('opentag', (t) => out.push(`<${t.name} ${Object.keys(t.attributes).join(',')}>`));
  p.on('closetag', (t) => out.push(`</${t.name}>`));
  p.write(text).close();
  return out;
}

describe('structured outputs parse and keep their structure', () => {
  it('JSON: parses, same paths, secret values are tokens (a number becomes a quoted token)', () => {
    const a = JSON.parse(inText('api-dump.json')) as Record<string, Record<string, unknown>>;
    const b = JSON.parse(outText('api-dump.json')) as Record<string, Record<string, unknown>>;
    expect(paths(b)).toEqual(paths(a));
    expect(b['user']!['pin']).toMatch(/^\[REDACTED:secret-key-value:[0-9a-f]{12}\]$/);
    expect(b['user']!['password']).toMatch(/^\[REDACTED:secret-key-value:[0-9a-f]{12}\]$/);
    expect(b['Credentials']!['Expiration']).toBe('2025-01-01T00:00:00Z');
    expect(b['NextToken']).toBe('page-2-cursor');
  });

  it('HAR: valid JSON with the same paths; PNG body emptied, base64 JSON body re-encoded and still JSON', () => {
    const a = JSON.parse(inText('console.har')) as { log: { entries: Array<{ response: { content: { text: string } } }> } };
    const b = JSON.parse(outText('console.har')) as typeof a;
    expect(paths(b)).toEqual(paths(a));
    const [, textBody, pngBody] = b.log.entries;
    expect(pngBody!.response.content.text).toBe('');
    const inner = JSON.parse(Buffer.from(textBody!.response.content.text, 'base64').toString()) as Record<string, unknown>;
    expect(Object.keys(inner)).toEqual(['token', 'ok']);
    expect(inner['token']).toMatch(/^\[REDACTED:[a-z0-9-]+:[0-9a-f]{12}\]$/);
    // Findings inside the re-encoded body are recorded at the body's position.
    const text = outText('console.har');
    expect(rec('console.har').findings.length).toBeGreaterThanOrEqual(14);
    expect(text).toContain('"name": "x-acs-signature-nonce"');
  });

  it('NDJSON: same lines; each JSON line parses with the same paths', () => {
    const a = inText('events.ndjson').split('\n');
    const b = outText('events.ndjson').split('\n');
    expect(b).toHaveLength(a.length);
    a.forEach((l, i) => {
      if (!l.startsWith('{')) return expect(b[i]).toBe(l);
      expect(paths(JSON.parse(b[i]!))).toEqual(paths(JSON.parse(l)));
    });
  });

  it('YAML: parses, same paths; plain and block scalars become quoted tokens', () => {
    const load = (t: string) => parseAllDocuments(t).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as unknown;
    });
    expect(paths(load(outText('application.yaml')))).toEqual(paths(load(inText('application.yaml'))));
    const out = load(outText('application.yaml'))[0] as { private_key: string; env: Array<{ value: string }> };
    expect(out.private_key).toMatch(/^\[REDACTED:/);
    expect(out.env[1]!.value).toBe('db.internal');
  });

  for (const name of ['credentials.ini', 'app.properties', '.env']) {
    it(`${name}: same keys and sections, line endings kept`, () => {
      expect(iniKeys(outText(name))).toEqual(iniKeys(inText(name)));
      expect(outText(name).split('\r\n').length).toBe(inText(name).split('\r\n').length);
    });
  }

  it('XML: well-formed, same elements and attributes', () => {
    expect(xmlShape(outText('settings.xml'))).toEqual(xmlShape(inText('settings.xml')));
  });
});

describe('fallbacks and limits', () => {
  it('a .json that is not JSON, and broken YAML, are redacted as text (recorded, not failed)', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-notjson-'));
    writeFileSync(path.join(d, 'app.json'), 'INFO started\nINFO {"password": "abc def ghi"} trailing\n');
    writeFileSync(path.join(d, 'bad.yaml'), 'a: [unclosed\npassword: "x y z"\n');
    writeFileSync(path.join(d, 'bad.xml'), '<a><password>one two</a>');
    const m = (await scan({ inputs: ['.'], cwd: d })).manifest;
    const s = Object.fromEntries(m.files.map((f) => [f.path, f.status === 'redacted' || f.status === 'clean' ? f.structure : f.status]));
    expect(s).toEqual({
      'app.json': { format: 'json', keyRules: 'text-only', reason: 'not-parseable', bodiesRemoved: 0 },
      'bad.xml': { format: 'xml', keyRules: 'text-only', reason: 'not-parseable', bodiesRemoved: 0 },
      'bad.yaml': { format: 'yaml', keyRules: 'text-only', reason: 'not-parseable', bodiesRemoved: 0 },
    });
  });

  it('XML positions hold with CRLF line ends and non-ASCII text before the value', async () => {
    const xml = Buffer.from('<?xml version="1.0"?>\r\n<a note="é𠀀" password="p1 two">\r\n<b>é</b><password>p2 three</password>\r\n</a>\r\n');
    const { out } = await run(xml, 'x.xml', 5);
    expect(out.toString()).toMatch(/^<\?xml version="1.0"\?>\r\n<a note="é𠀀" password="\[REDACTED:[a-z-]+:[0-9a-f]{12}\]">\r\n<b>é<\/b><password>\[REDACTED:[a-z-]+:[0-9a-f]{12}\]<\/password>\r\n<\/a>\r\n$/);
  });

  it('file names pick the format (.gz stripped); plain logs have none', () => {
    expect(['a.json', 'x.har', 'a.jsonl', 'c.yml', 'app.conf', '.env.production', 'credentials', 'a.properties', 'p.xml', 'a.json.gz', 'a.log'].map(formatFor)).toEqual([
      'json', 'har', 'ndjson', 'yaml', 'ini', 'env', 'ini', 'properties', 'xml', 'json', undefined,
    ]);
    expect(normaliseKey('x-acs-Security_Token')).toBe('xacssecuritytoken');
  });
});

const ruleset = await loadRuleset();
const scanner = new Scanner(ruleset.detectors);
const fingerprints = new Fingerprinter(KEY);
const ctx: StructureContext = { keys: await loadSecretKeys(), scanner, fingerprints };

describe('built-in secret-key list', () => {
  it('is valid against patterns/structure/schema.json (start-up skips this check)', async () => {
    const checked = await loadKeyFile(SECRET_KEYS_FILE, true);
    expect(checked.sha256).toBe((await loadSecretKeys()).sha256);
  });

  it('answers every name the same when asked again (the per-name memo, across its resets)', async () => {
    // The first pass answers most names from scratch (they are new); two more passes answer from the
    // memo, which has been dropped and refilled after 4096 names; a fresh matcher checks every
    // 500th. Names mix secret, pair and plain keys, a value over the memo's length and odd spellings.
    const base = ['Password', 'x-acs-Security_Token', 'nextPageToken', 'name', 'Value', 'AccessKeySecret', 'host', 'pass word', 'ＰＡＳＳ', 'token'.repeat(20)];
    const names = Array.from({ length: 9000 }, (_, i) => `${base[i % base.length]}${i % 3 === 0 ? '' : `_${i}`}`);
    const answer = (k: Awaited<ReturnType<typeof loadKeyFile>>, n: string): string => `${k.isSecret(n)}${k.isPairName(n)}${k.isPairValue(n)}`;
    const memoised = await loadKeyFile(SECRET_KEYS_FILE);
    const first = names.map((n) => answer(memoised, n));
    for (let pass = 0; pass < 2; pass++) expect(names.map((n) => answer(memoised, n))).toEqual(first);
    const fresh = names.map((n, i) => (i % 500 === 0 ? answer(compileSecretKeys(JSON.parse(readFileSync(SECRET_KEYS_FILE, 'utf8')) as SecretKeysSpec, 'x'), n) : first[i]));
    expect(fresh).toEqual(first);
    expect(first.filter((a) => a.startsWith('true')).length).toBeGreaterThan(1000);
    expect(answer(memoised, 'Password')).toBe('truefalsefalse');
    expect(answer(memoised, 'Value')).toBe('falsefalsetrue');
    expect(answer(memoised, 'nextPageToken')).toBe('falsefalsefalse');
  });
});

async function run(input: Buffer, name: string, chunk: number, maxBytes?: number): Promise<{ out: Buffer; stage: StructureStage }> {
  const state: EncodingState = {};
  const redactor = createRedactor(scanner, fingerprints, { name, minScanBytes: 0 });
  const stage = new StructureStage(ctx, formatFor(name)!, redactor, maxBytes);
  const parts: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) chunks.push(input.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks), new AutoDecode(state, name), stage, redactor, new AutoEncode(state), new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  return { out: Buffer.concat(parts), stage };
}

describe('chunking never changes the output', () => {
  it('streamed == whole for every structured fixture and chunk size', async () => {
    const inputs = names.map((n) => [n, readFileSync(path.join(dir, 'in', n))] as const);
    const wholes = new Map<string, Buffer>();
    for (const [n, b] of inputs) wholes.set(n, (await run(b, n, b.length)).out);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...inputs), fc.integer({ min: 1, max: 300 }), async ([n, b], chunk) => {
        expect((await run(b, n, chunk)).out.equals(wholes.get(n)!)).toBe(true);
      }),
      { numRuns: 40 },
    );
    // And the same bytes as the pipeline of pack itself.
    for (const [n] of inputs) expect(wholes.get(n)!.equals(entries.get(`evidence/${n}`)!), n).toBe(true);
  });

  it('over the size cap: whole documents fall back to text-only; NDJSON keeps going line by line', async () => {
    const json = readFileSync(path.join(dir, 'in', 'api-dump.json'));
    const big = await run(json, 'api-dump.json', 64, 100);
    expect(big.stage.outcome).toEqual({ keyRules: 'text-only', reason: 'too-large', bodiesRemoved: 0 });
    expect(big.out.includes(Buffer.from(STRUCTURED_CANARIES['jsonPairValue']!))).toBe(true); // documented: text detectors only
    const nd = readFileSync(path.join(dir, 'in', 'events.ndjson'));
    const lines = await run(nd, 'events.ndjson', 7, 1000);
    expect(leaks(lines.out)).toEqual([]);
  });
});

describe('--include-unscanned and images inside archives', () => {
  const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-unscanned-'));
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from([0, 1, 2, 255, 0]), Buffer.from('\n%%EOF\n')]);
  const png = makePng();
  mkdirSync(path.join(d, 'in'));
  writeFileSync(path.join(d, 'in', 'report.pdf'), pdf);
  writeFileSync(path.join(d, 'in', 'core.dmp'), Buffer.from([0, 0, 0, 1]));
  writeFileSync(path.join(d, 'in', 'shots.zip'), zip([{ name: 'screen.png', data: png }, { name: 'manual.pdf', data: pdf }]));

  it('matching binaries are bundled unmodified and marked unscanned; verify accepts them; scan fails unless allowed', async () => {
    const r = await cli(['pack', 'in', '--out', 'u.zip', '--include-unscanned', '**/*.pdf'], { cwd: d });
    expect(r.code, r.stderr).toBe(1); // core.dmp is still left out
    const z = await unzipper.Open.file(path.join(d, 'u.zip'));
    const got = new Map<string, Buffer>();
    for (const f of z.files) got.set(f.path, await f.buffer());
    expect(got.get('evidence/report.pdf')!.equals(pdf)).toBe(true);
    expect(got.get('evidence/shots.zip/manual.pdf')!.equals(pdf)).toBe(true);
    const m = JSON.parse(got.get('manifest.json')!.toString()) as Manifest;
    expect(validateManifest(m)).toEqual([]);
    expect(m.files.map((f) => [f.path, f.status])).toEqual([
      ['core.dmp', 'excluded'],
      ['report.pdf', 'unscanned'],
      ['shots.zip!/manual.pdf', 'unscanned'],
      ['shots.zip!/screen.png', 'stripped'],
    ]);
    expect(m.totals.unscanned).toBe(2);
    expect(got.get('REDACTIONS.md')!.toString()).toContain('Bundled without scanning');
    const v = await cli(['verify', 'u.zip'], { cwd: d });
    expect(v.code, v.stdout).toBe(0);
    const s = await cli(['scan', 'in/report.pdf', '--include-unscanned', '**/*.pdf', '--format', 'report'], { cwd: d });
    expect(s.code).toBe(1);
    expect((JSON.parse(s.stdout) as { unscanned: Array<{ status: string }> }).unscanned).toEqual([{ path: 'in/report.pdf', status: 'unscanned', reason: 'included-unscanned' }]);
    expect((await cli(['scan', 'in/report.pdf', '--include-unscanned', '**/*.pdf', '--allow-unscanned'], { cwd: d })).code).toBe(0);
    // Without the option a PDF is left out as before.
    expect((await scan({ inputs: ['in/report.pdf'], cwd: d })).manifest.files[0]).toMatchObject({ status: 'excluded', reason: 'binary' });
  });

  it('an image inside an archive has its metadata stripped like a top-level one', async () => {
    const m = (await scan({ inputs: ['in/shots.zip'], cwd: d })).manifest;
    const shot = m.files.find((f) => f.path === 'shots.zip!/screen.png')!;
    expect(shot).toMatchObject({ status: 'stripped', format: 'png', pixels: 'unscanned' });
    if (shot.status !== 'stripped') return;
    expect(shot.removed.length).toBeGreaterThan(0);
    expect(shot.findings.length).toBeGreaterThan(0);
    const out = path.join(d, 'img.zip');
    await pack({ inputs: ['in/shots.zip'], cwd: d }, out);
    const z = await unzipper.Open.file(out);
    const bundled = await z.files.find((f) => f.path === 'evidence/shots.zip/screen.png')!.buffer();
    for (const v of Object.values(IMAGE_CANARIES).filter((_, i) => Object.keys(IMAGE_CANARIES)[i]!.startsWith('png'))) expect(bundled.includes(Buffer.from(v))).toBe(false);
  });
});

describe('--max-structured-size', () => {
  it('leaves out a HAR over the limit (fail closed) and gives other formats the text detectors only', async () => {
    const small = path.join(dir, 'small-limit');
    mkdirSync(small, { recursive: true });
    const r = await cli(['pack', 'in', '--out', path.join(small, 'b.zip'), '--key-file', 'key', '--max-structured-size', '400B'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('console.har: HAR larger than');
    expect(r.stderr).toContain('--max-structured-size');
    const z = await unzipper.Open.file(path.join(small, 'b.zip'));
    expect(z.files.some((f) => f.path.endsWith('console.har'))).toBe(false);
    const m = JSON.parse((await z.files.find((f) => f.path === 'manifest.json')!.buffer()).toString()) as Manifest;
    expect(m.files.find((f) => f.path === 'console.har')).toMatchObject({ status: 'excluded', reason: 'too-large' });
    const json = m.files.find((f) => f.path === 'api-dump.json') as Extract<FileRecord, { status: 'redacted' | 'clean' }>;
    expect(json.structure).toMatchObject({ keyRules: 'text-only', reason: 'too-large' });
    const bad = await cli(['scan', 'in', '--max-structured-size', 'lots'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-structured-size');
  });
});

describe('YAML tags and anchors (issue 4 review)', () => {
  it('a tagged value is redacted with its tag into one quoted token: the output parses and the value is gone', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-yaml-tags-'));
    mkdirSync(path.join(d, 'in'));
    const values = ['tagged-value-one', 'tagged-value-two', 'anchored-value-3', 'quoted-tagged-4', 'seq-tagged-5', 'c2VjcmV0LWJpbmFyeQ=='];
    const input = [
      'password: !!str tagged-value-one',
      'db_password: !!str &pw tagged-value-two',
      'copy_of_pw: *pw',
      'token: &tok !!str anchored-value-3',
      'again: *tok',
      'apiKey: !!str "quoted-tagged-4"',
      'credentials:',
      '  - !!str seq-tagged-5',
      'secret: !!binary |',
      '  c2VjcmV0LWJpbmFyeQ==',
      'other: !!str keep-me',
      '',
    ].join('\n');
    writeFileSync(path.join(d, 'in', 'tags.yaml'), input);
    const out = path.join(d, 'b.zip');
    const res = await pack({ inputs: ['in'], cwd: d, key: KEY }, out);
    const z = await unzipper.Open.file(out);
    const text = (await z.files.find((f) => f.path === 'evidence/tags.yaml')!.buffer()).toString('utf8');
    for (const v of values) expect(text.includes(v), `${v} survived`).toBe(false);
    const docs = parseAllDocuments(text);
    expect(Array.isArray(docs) && docs.length).toBe(1);
    const doc = (docs as ReturnType<typeof parseAllDocuments> & unknown[])[0] as ReturnType<typeof parseAllDocuments>[number];
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    const data = doc.toJS() as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['password', 'db_password', 'copy_of_pw', 'token', 'again', 'apiKey', 'credentials', 'secret', 'other']);
    for (const k of ['password', 'db_password', 'copy_of_pw', 'token', 'apiKey', 'secret']) expect(String(data[k]), k).toMatch(/^\[REDACTED:[a-z-]+:[0-9a-f]{12}\]$/);
    expect(data['again']).toBe(data['token']); // the anchor before the tag is kept, so is the alias
    expect((data['credentials'] as string[])[0]).toMatch(/^\[REDACTED:/);
    expect(data['other']).toBe('keep-me');
    expect(res.manifest.files[0]).toMatchObject({ path: 'tags.yaml', status: 'redacted', structure: { keyRules: 'applied' } });
  });
});

describe('NDJSON lines', () => {
  it('a secret name in a shadowed duplicate key, an escape or a Kelvin sign is found on its line', async () => {
    const { documentHits } = await import('../src/structure/document.js');
    const lines = ['{"a":{"password":"v1-hidden"},"a":1}', '{"tok\\u0065n":"v2-escaped"}', '{"to\u212Aen":"v3-kelvin"}', '{"ts":"2025-11-17T05:47:00Z","msg":"cache miss","status":200}', 'not json', '{"Api-Key":"v4-plain"}'];
    const doc = Buffer.from(lines.join('\n'));
    const outcome = { keyRules: 'applied' as const, bodiesRemoved: 0 };
    const hits = await documentHits(ctx, doc, 'ndjson', 0, outcome);
    const text = doc.toString('utf8');
    const byteRange = (v: string): number[] => {
      const at = Buffer.byteLength(text.slice(0, text.indexOf(v)));
      return [at, at + Buffer.byteLength(v)];
    };
    expect(hits.map((h) => [h.start, h.end])).toEqual(['v1-hidden', 'v2-escaped', 'v3-kelvin', 'v4-plain'].map(byteRange));
    expect(outcome).toEqual({ keyRules: 'partial', bodiesRemoved: 0, reason: 'not-parseable' });
  });
});

describe('parseJson', () => {
  // The oracle is jsonc-parser's own parseTree, converted as parseJson did until session 9: our
  // reader's tree must be the same, node for node and range for range.
  const reference = (text: string): unknown => {
    const errors: ParseError[] = [];
    const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    if (!root || errors.length > 0) return undefined;
    const conv = (n: JsonNode): unknown => {
      if (n.type === 'object') return { kind: 'map', entries: (n.children ?? []).map((p) => ({ key: String(p.children![0]!.value), value: conv(p.children![1]!) })) };
      if (n.type === 'array') return { kind: 'seq', items: (n.children ?? []).map(conv) };
      if (n.type === 'string') return { kind: 'scalar', text: n.value, redactable: true, start: n.offset + 1, end: n.offset + n.length - 1, bare: false };
      if (n.type === 'number') return { kind: 'scalar', text: undefined, redactable: true, start: n.offset, end: n.offset + n.length, bare: true };
      return { kind: 'scalar', text: undefined, redactable: false, start: n.offset, end: n.offset + n.length, bare: true };
    };
    return conv(root);
  };

  /** The value `JSON.parse` would give, rebuilt from the tree and the source ranges alone. */
  const valueOf = (n: SNode, text: string): unknown => {
    if (n.kind === 'seq') return n.items.map((i) => valueOf(i, text));
    if (n.kind === 'map') {
      // Later duplicates win, as in JSON.parse; defineProperty so "__proto__" is a plain key.
      const o: Record<string, unknown> = {};
      for (const e of n.entries) Object.defineProperty(o, e.key, { value: valueOf(e.value, text), enumerable: true, configurable: true, writable: true });
      return o;
    }
    // A string's range is inside its quotes: the quoted source decodes to the node's text.
    if (!n.bare) {
      expect(JSON.parse(text.slice(n.start - 1, n.end + 1))).toBe(n.text);
      return n.text;
    }
    return JSON.parse(text.slice(n.start, n.end));
  };

  // Pretty-printed, compact, with duplicate keys, escapes and any Unicode; then cut or corrupted.
  const doc = fc.oneof(
    fc.json({ maxDepth: 6 }),
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v, null, 2) ?? 'null'),
    fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }).map((v) => JSON.stringify(v, null, '\t') ?? 'null'),
    fc.dictionary(fc.constantFrom('a', 'b', '\\u00e9', 'password', '__proto__'), fc.jsonValue({ maxDepth: 2 })).map((o) => `{${Object.entries(o).map(([k, v]) => `"${k}":${JSON.stringify(v)},"${k}":1`).join(',')}}`),
    fc.array(fc.constantFrom('0', '-0', '1.5e+3', '2E-2', '10', '"\\u00E9\\/\\b"', '"\\ud800"', 'true', 'null', '[]', '{}'), { maxLength: 5 }).map((a) => ` [ ${a.join(' , ')} ]\r\n`),
    // Numbers valid and nearly valid, alone and inside containers.
    fc
      .tuple(fc.constantFrom('', '-', '+'), fc.constantFrom('', '0', '00', '01', '7', '12'), fc.constantFrom('', '.', '.5', '.05'), fc.constantFrom('', 'e', 'E+', 'e-', 'e5', 'E+10'), fc.constantFrom('%', '[%]', '{"n":%}', '[1,%]'))
      .map(([sign, int, frac, exp, shape]) => shape.replace('%', sign + int + frac + exp)),
  );
  // Each insertion is a way JSON goes wrong, or nearly does.
  const insert = fc.constantFrom('', ',', '}', ']', '{', '[', ':', '"', '\\', '/* c */', '//', 'x', 'tru', 'nul', '-', '0', '.', 'e', '+', '\\u12', '\\uZZZZ', '\\q', '\u0001', '\u001f', '\n', '\t', '\u000b', '\u00a0', '\ufeff', '\u2028');
  const broken = fc.tuple(doc, fc.array(fc.tuple(fc.nat(), insert), { minLength: 1, maxLength: 3 })).map(([t, edits]) => {
    for (const [at, ins] of edits) {
      const i = t.length === 0 ? 0 : at % t.length;
      t = t.slice(0, i) + ins + t.slice(i + (ins === '' ? 1 : 0));
    }
    return t;
  });
  /** jsonc-parser refused a raw U+2028/U+2029 in a string, which RFC 8259 allows: only there may we differ. */
  const lineSeparator = /[\u2028\u2029]/;

  it("builds jsonc-parser's tree, with the same ranges, for any JSON and for broken JSON", async () => {
    const { parseJson } = await import('../src/structure/formats.js');
    fc.assert(
      fc.property(fc.oneof(doc, broken), (text) => {
        fc.pre(!lineSeparator.test(text));
        expect(parseJson(text)).toEqual(reference(text));
      }),
      { numRuns: 3000 },
    );
    expect(parseJson('')).toBeUndefined();
    expect(parseJson('{"a":1} {"b":2}')).toBeUndefined();
  });

  it('accepts exactly what JSON.parse accepts, with the same values (property)', async () => {
    const { parseJson } = await import('../src/structure/formats.js');
    fc.assert(
      fc.property(fc.oneof(doc, broken), (text) => {
        let expected: unknown;
        let valid = true;
        try {
          expected = JSON.parse(text);
        } catch {
          valid = false;
        }
        const tree = parseJson(text);
        expect(tree !== undefined, JSON.stringify(text)).toBe(valid);
        if (tree) expect(valueOf(tree, text)).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a raw line separator inside a string, as JSON.parse does; outside one it is an error', async () => {
    const { parseJson } = await import('../src/structure/formats.js');
    expect(parseJson('{"a":"x\u2028y\u2029"}')).toEqual({ kind: 'map', entries: [{ key: 'a', value: { kind: 'scalar', text: 'x\u2028y\u2029', redactable: true, start: 6, end: 10, bare: false } }] });
    expect(parseJson('{"a":1}\u2028')).toBeUndefined();
    expect(parseJson('\ufeff{"a":1}')).toBeUndefined(); // a BOM is the decoder's to remove, as before
  });
});

describe('JSON nesting deeper than MAX_JSON_DEPTH', () => {
  it('counts as not parseable on every thread, in whole documents and NDJSON lines alike', async () => {
    const { MAX_JSON_DEPTH, parseJson } = await import('../src/structure/formats.js');
    const { documentHits } = await import('../src/structure/document.js');
    const nest = (d: number): string => '['.repeat(d) + ']'.repeat(d);
    expect(parseJson(nest(MAX_JSON_DEPTH))).toBeDefined();
    // 20 000 levels overflowed jsonc-parser on the main thread (a worker's stack held): the file failed or not by thread.
    expect(parseJson(nest(20_000))).toBeUndefined();
    expect(parseJson(`{"a":"${'['.repeat(5000)}"}`)).toBeDefined(); // brackets inside a string do not nest
    const doc = Buffer.from(`{"ts":1}\n${nest(MAX_JSON_DEPTH + 1)}\n{"password":"hunter2-secret"}\n`);
    const outcome = { keyRules: 'applied' as const, bodiesRemoved: 0 };
    const hits = await documentHits(ctx, doc, 'ndjson', 0, outcome);
    expect(outcome).toMatchObject({ keyRules: 'partial', reason: 'not-parseable' });
    expect(hits.map((h) => doc.subarray(h.start, h.end).toString())).toEqual(['hunter2-secret']);
  });
});

/**
 * Rule 4, "streaming is exact": redacting a file in chunks gives byte-for-byte the same output and
 * the same findings as redacting it whole, for every chunk size. And redaction is closed: a
 * rescan of redacted output finds nothing. Inputs are random documents built from every
 * detector's own must-match examples, filler text (ASCII, CJK, CRLF) and random bytes, so values
 * land across every possible chunk boundary.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';
import { Fingerprinter } from '../src/fingerprint.js';
import { redactBuffer, redactSmall } from '../src/redact/redactor.js';

const ruleset = await loadRuleset();
const scanner = new Scanner(ruleset.detectors);
const key = Buffer.alloc(32, 7);

/** Sensitive snippets: the text of every must-match example of every detector. */
const snippets = ruleset.detectors.flatMap((d) => d.spec.examples.match.map((ex) => parseExample(ex).text));
// Backslash escapes too: the detectors read `\n`, `\r`, `\t` as the characters they stand for
// (see escapeView), and an escape cut by a chunk boundary must not change anything.
const filler = [' ', '\n', '\r\n', 'INFO request ok ', '处理订单 ', 'key=value; ', '"', ':', '=', '/', 'é', '\t', 'RequestId: 0254B7DE-7365-57B4-8E38-14FE927E3FEB ', '\\n', '\\t', '\\\\', '\\', '\\r\\n'];

const docArb = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...snippets) },
      { weight: 3, arbitrary: fc.constantFrom(...filler) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join('')));

/** Scans every chunk as its own window (minScanBytes 0), so every boundary is exercised. */
async function redact(input: Buffer, chunk?: number) {
  return redactBuffer(scanner, new Fingerprinter(key), input, chunk, 0);
}

describe('streaming redaction', () => {
  it('chunked output and findings equal whole-buffer output for random chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(docArb, fc.integer({ min: 1, max: 600 }), async (doc, chunk) => {
        const whole = await redact(doc);
        const streamed = await redact(doc, chunk);
        expect(streamed.output.equals(whole.output)).toBe(true);
        expect(streamed.result.findings).toEqual(whole.result.findings);
      }),
      { numRuns: 150 },
    );
  });

  it('is exact at the smallest chunk sizes (1, 2, 3 bytes) on a document with every example', async () => {
    const doc = Buffer.from(snippets.join('\n'));
    const whole = await redact(doc);
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const streamed = await redact(doc, size);
      expect(streamed.output.equals(whole.output), `chunk size ${size}`).toBe(true);
      expect(streamed.result.findings).toEqual(whole.result.findings);
    }
  }, 240_000); // one scan per byte over ~60 KB: slow on a loaded 2-core machine, and not a timing test

  it('large reads scanned in 64 KiB slices give the same output as one scan of the whole input', async () => {
    // ~450 KB: every example, between filler, many times over, so values straddle slice edges.
    const parts: string[] = [];
    for (let i = 0; parts.join('').length < 450_000; i++) parts.push(snippets[i % snippets.length]!, filler[(i * 7) % filler.length]!, 'x'.repeat(i % 97));
    const doc = Buffer.from(parts.join(''));
    const reference = redactSmall(scanner, new Fingerprinter(key), doc).output;
    for (const size of [doc.length, 1 << 20, 65535, 65536, 65537, 200_003]) {
      const streamed = await redactBuffer(scanner, new Fingerprinter(key), doc, size);
      expect(streamed.output.equals(reference), `read size ${size}`).toBe(true);
    }
  });

  it('finds values right after JSON escapes and keeps the escapes intact', async () => {
    const doc = Buffer.from('{"a":"x\\nLTAI5tH3kQ9mZr2XbK9vNc4W","b":"\\tzhang.wei@hzmall-tech.cn","c":"C:\\\\new\\\\table"}\n');
    const { output, result } = await redact(doc);
    expect(result.findings.map((f) => f.detector)).toEqual(['alibaba-access-key-id', 'email-address']);
    const parsed = JSON.parse(output.toString()) as Record<string, string>;
    expect(parsed['a']).toMatch(/^x\n\[REDACTED:alibaba-access-key-id:[0-9a-f]{12}\]$/);
    expect(parsed['b']).toMatch(/^\t\[REDACTED:email-address:[0-9a-f]{12}\]$/);
    expect(parsed['c']).toBe('C:\\new\\table');
  });

  it('rescanning redacted output finds nothing', async () => {
    await fc.assert(
      fc.asyncProperty(docArb, async (doc) => {
        const { output } = await redact(doc);
        const again = scanBuffer(scanner, output).map((h) => `${h.detector.id}@${h.start}`);
        expect(again).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('finds every example value when examples are concatenated (values stay findable in context)', async () => {
    const doc = Buffer.from(snippets.join('\n'));
    const { output } = await redact(doc);
    for (const d of ruleset.detectors) {
      for (const ex of d.spec.examples.match) {
        const { text, spans } = parseExample(ex);
        for (const [s, e] of spans) {
          const value = Buffer.from(text).subarray(s, e).toString();
          expect(output.includes(value), `${d.id}: a marked value survived redaction`).toBe(false);
        }
      }
    }
  });

  it('reports 1-based lines and character columns of the value', async () => {
    const doc = Buffer.from('first line\n处理 key LTAI5tQ8mZr2XbK9vNc4Wd7P end\n');
    const { result } = await redact(doc, 5);
    expect(result.findings).toEqual([
      expect.objectContaining({ detector: 'alibaba-access-key-id', line: 2, column: 8, start: 22, end: 46 }),
    ]);
  });

  it('uses the same token for the same value and a different one for another value', async () => {
    const doc = Buffer.from('a LTAI5tQ8mZr2XbK9vNc4Wd7P b LTAI5tQ8mZr2XbK9vNc4Wd7P c LTAI5tQ8mZr2XbK9vNc4Wd7Q\n');
    const { output } = await redact(doc);
    const tokens = output.toString().match(/\[REDACTED:[a-z0-9-]+:[0-9a-f]{12}\]/g) ?? [];
    expect(tokens).toHaveLength(3);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  it('fails closed on invalid UTF-8 and on NUL bytes, wherever they are', async () => {
    const bad = Buffer.concat([Buffer.from('ok line\n'.repeat(1000)), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    await expect(redact(bad, 100)).rejects.toMatchObject({ code: 'undecodable' });
    const truncated = Buffer.concat([Buffer.from('ends mid-character '), Buffer.from([0xe4, 0xb8])]);
    await expect(redact(truncated, 3)).rejects.toMatchObject({ code: 'undecodable' });
    const nul = Buffer.concat([Buffer.from('x'.repeat(50000)), Buffer.from([0])]);
    await expect(redact(nul, 4096)).rejects.toMatchObject({ code: 'binary' });
  });
});

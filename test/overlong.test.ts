/**
 * Fail closed on long values: a value that runs past its detector's length bound must still be
 * reported (at least up to the bound), never silently skipped. A pattern written as
 * `([class]{16,256})(?:terminator)` matches nothing at all once the value has 257 characters: a
 * leak that appears exactly for the longest, most unusual values. For every must-match example we
 * lengthen the marked value by repeating its own last character far past `maxLength` and check
 * that the detector still reports a span starting where the value starts.
 */
import { describe, expect, it } from 'vitest';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { findAll } from '../src/detect/find.js';

const ruleset = await loadRuleset();

/**
 * Detectors whose values have no natural length (tokens, signatures, cookies, key-named secrets).
 * Fixed-format values (an AccessKey ID is exactly LTAI+12/20, a card 13-19 digits) are not listed:
 * a longer run is a different string. Password and connection-URL detectors need a closing
 * delimiter to know where the value is (`user:pass@`, `</password>`) and cap values at 128
 * characters; they are not listed either (see README, "Not handled yet").
 */
const VARIABLE_LENGTH = new Set([
  'alibaba-sts-security-token',
  'alibaba-sts-security-token-context',
  'alibaba-url-signature',
  'http-cookie-header',
  'har-cookie-header',
  'session-cookie-json',
  'session-cookie-pair',
  'http-bearer-token',
  'generic-secret-assignment',
  'url-token-parameter',
  'jwt',
]);

describe('values longer than the detector bound', () => {
  it('lists only detectors that exist', () => {
    for (const id of VARIABLE_LENGTH) expect(ruleset.detectors.some((d) => d.id === id), id).toBe(true);
  });

  for (const d of ruleset.detectors.filter((x) => VARIABLE_LENGTH.has(x.id))) {
    it(`${d.id} still reports a lengthened value`, () => {
      const failures: string[] = [];
      d.spec.examples.match.forEach((ex, i) => {
        const { text, spans } = parseExample(ex);
        const buf = Buffer.from(text);
        for (const [s, e] of spans) {
          const value = buf.subarray(s, e).toString();
          const last = value[value.length - 1]!;
          // Only values that plainly continue (alphanumerics) can be lengthened meaningfully.
          if (!/[A-Za-z0-9]/.test(last)) continue;
          // Varied characters of the value's own kind, so placeholder/entropy filters stay quiet.
          const alphabet = /[0-9]/.test(last) && /^[0-9]+$/.test(value) ? '7305916482' : /[a-f0-9]/.test(last) && /^[0-9a-f]+$/.test(value) ? '7a3f0c9e5b1d' : 'q7Zk2Lm9QxW4vB8n';
          let extra = '';
          while (extra.length < d.maxLength + 16) extra += alphabet;
          const longer = Buffer.concat([buf.subarray(0, e), Buffer.from(extra), buf.subarray(e)]);
          const hits = findAll(d, longer);
          if (!hits.some((h) => h.start === s)) failures.push(`examples.match[${i}]`);
        }
      });
      expect(failures).toEqual([]);
    });
  }
});

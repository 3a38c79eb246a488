import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_BYTES, formatToken, insideToken, tokenEndAt } from '../src/redact/token.js';

/** The definition: some token starting at or before `start` reaches `end` or past it. */
function insideByDefinition(buf: Buffer, start: number, end: number): boolean {
  for (let t = 0; t <= start; t++) if (tokenEndAt(buf, t) >= end) return true;
  return false;
}

describe('a span inside a redaction token', () => {
  it('is found exactly as by trying every start before it (property)', () => {
    // Tokens, broken tokens and their pieces next to each other, so spans start and end at,
    // just inside and just outside token edges.
    const piece = fc.oneof(
      fc.constantFrom('[', 'R', '[R', '[REDACTED:', ']', ':', 'x', ' ', '\n', '[REDACTED:ipv4:', '[REDACTED:ipv4:0123456789ab'),
      fc.tuple(fc.stringMatching(/^[a-z0-9-]{1,70}$/), fc.stringMatching(/^[0-9a-f]{12}$/)).map(([id, fp]) => formatToken(id, fp)),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.nat(), fc.nat(), (pieces, a, b) => {
        const buf = Buffer.from(pieces.join(''));
        if (buf.length === 0) return;
        const start = a % buf.length;
        const end = start + 1 + (b % Math.min(MAX_TOKEN_BYTES + 2, buf.length - start));
        expect(insideToken(buf, start, end)).toBe(insideByDefinition(buf, start, end));
      }),
      { numRuns: 3000 },
    );
  });

  it('covers a whole token and a part of it, but not a span that reaches past either end', () => {
    const token = formatToken('alibaba-access-key-id', '0123456789ab');
    const buf = Buffer.from(`ab${token}cd`);
    const first = 2;
    const last = first + token.length; // exclusive
    expect(insideToken(buf, first, last)).toBe(true);
    expect(insideToken(buf, last - 13, last - 1)).toBe(true);
    expect(insideToken(buf, first - 1, last)).toBe(false);
    expect(insideToken(buf, first, last + 1)).toBe(false);
  });
});

/**
 * The replacement token format: `[REDACTED:<detector-id>:<fingerprint>]`.
 *
 * A token names what was removed and carries a keyed fingerprint, so the same value gets the same
 * token everywhere in one run (support can still correlate) but the value cannot be recovered by
 * hashing guesses without the key. The scanner ignores any match that lies wholly inside a token,
 * so rescanning redacted output finds nothing.
 */

const PREFIX = Buffer.from('[REDACTED:');
/** Hex digits of the fingerprint inside a token. */
export const TOKEN_FINGERPRINT_HEX = 12;
/** Longest possible token in bytes (detector ids are at most 64 bytes). */
export const MAX_TOKEN_BYTES = PREFIX.length + 64 + 1 + TOKEN_FINGERPRINT_HEX + 1;

/** Renders a token. */
export function formatToken(detectorId: string, fingerprint: string): string {
  return `[REDACTED:${detectorId}:${fingerprint.slice(0, TOKEN_FINGERPRINT_HEX)}]`;
}

const isIdByte = (b: number): boolean => (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d;
const isHexByte = (b: number): boolean => (b >= 0x61 && b <= 0x66) || (b >= 0x30 && b <= 0x39);

/** If a well-formed token starts at `at` in `buf`, returns its end offset (exclusive); else -1. */
export function tokenEndAt(buf: Buffer, at: number): number {
  if (at < 0 || at + PREFIX.length > buf.length || buf.compare(PREFIX, 0, PREFIX.length, at, at + PREFIX.length) !== 0) return -1;
  let i = at + PREFIX.length;
  const idStart = i;
  while (i < buf.length && isIdByte(buf[i]!)) i++;
  if (i === idStart || i - idStart > 64 || buf[i] !== 0x3a /* : */) return -1;
  i++;
  const fpStart = i;
  while (i < buf.length && isHexByte(buf[i]!)) i++;
  if (i - fpStart !== TOKEN_FINGERPRINT_HEX || buf[i] !== 0x5d /* ] */) return -1;
  return i + 1;
}

/** 1 for each byte a token can hold: `[REDACTED:`, an id's `a-z 0-9 -`, `:`, hex digits, `]`. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of Buffer.from('[]:-REDACTabcdefghijklmnopqrstuvwxyz0123456789')) TOKEN_BYTE[c] = 1;

/**
 * True when bytes [start, end) of `buf` lie wholly inside one token. `buf` must include at least
 * {@link MAX_TOKEN_BYTES} bytes of context on each side where the file has them.
 */
export function insideToken(buf: Buffer, start: number, end: number): boolean {
  if (end - start > MAX_TOKEN_BYTES) return false;
  // A byte no token holds (an address's dots, an e-mail's @) settles it: most hits end here.
  for (let i = start; i < end; i++) if (TOKEN_BYTE[buf[i]!] === 0) return false;
  // Only a token starting within MAX_TOKEN_BYTES before `end` can contain [start, end): search that
  // slice alone (searching back to byte 0 made every check O(file size)).
  const from = Math.max(0, end - MAX_TOKEN_BYTES);
  const region = buf.subarray(from, Math.min(buf.length, start + PREFIX.length));
  for (let at = region.lastIndexOf(PREFIX); at >= 0; at = at > 0 ? region.lastIndexOf(PREFIX, at - 1) : -1) {
    if (tokenEndAt(buf, from + at) >= end) return true;
  }
  return false;
}

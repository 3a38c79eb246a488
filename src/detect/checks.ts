/**
 * Named validators that a detector references from data (`"validator": "luhn"`). They hold the
 * logic a regex cannot express: check digits, calendar dates, context around a match. Each
 * receives the candidate value and a little context on either side (at most
 * {@link CONTEXT_BYTES}), and returns true to keep the finding.
 */

/** Bytes of context a validator may look at on each side of a value. Also sizes the scanner's look-behind. */
export const CONTEXT_BYTES = 128;

/** What a validator sees. All Buffers are views; never keep them. */
export interface CheckInput {
  /** The candidate sensitive value (the detector's capture group). */
  readonly value: Buffer;
  /** Up to {@link CONTEXT_BYTES} bytes immediately before `value` (fewer at the start of a file). */
  readonly before: Buffer;
  /** Up to {@link CONTEXT_BYTES} bytes immediately after `value` (fewer at the end of a file). */
  readonly after: Buffer;
}

export type Check = (input: CheckInput) => boolean;

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

function digitsOf(value: Buffer): number[] {
  const out: number[] = [];
  for (const b of value) if (isDigit(b)) out.push(b - 0x30);
  return out;
}

/** Luhn (ISO/IEC 7812) mod-10 check over the digits of `digits`. */
export function luhnValid(digits: readonly number[]): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits[digits.length - 1 - i]!;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Province-level prefixes of GB/T 2260 division codes (python-stdnum loc.dat), plus 83 (TW residence permits). */
const RIC_PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62,
  63, 64, 65, 71, 81, 82, 83,
]);
const RIC_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RIC_CHECK = '10X98765432';

/** True when y-m-d is a real calendar date between 1900-01-01 and `today`. */
function realDate(y: number, m: number, d: number, today = new Date()): boolean {
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return false;
  return dt.getTime() <= today.getTime();
}

/**
 * PRC resident identity number, GB 11643-1999: 18 characters, known province prefix, a real
 * birth date, and the ISO 7064 MOD 11-2 check character (`X` for 10, either case).
 */
export function gb11643Valid(id: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(id)) return false;
  if (!RIC_PROVINCES.has(Number(id.slice(0, 2)))) return false;
  if (!realDate(Number(id.slice(6, 10)), Number(id.slice(10, 12)), Number(id.slice(12, 14)))) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * RIC_WEIGHTS[i]!;
  return RIC_CHECK[sum % 11] === id[17]!.toUpperCase();
}

/** Mainland mobile number ranges (MIIT allocations, tolerant of data/IoT/virtual ranges). */
export function cnMobileValid(value: string): boolean {
  let digits = value.replace(/[\s()-]/g, '');
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  return /^1(3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$/.test(digits);
}

/** Shannon entropy of a byte string, in bits per byte. */
export function shannonEntropy(value: Buffer): number {
  if (value.length === 0) return 0;
  const counts = new Map<number, number>();
  for (const b of value) counts.set(b, (counts.get(b) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / value.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Documented placeholders and masked values are not secrets: `LTAI****`, `xxxx`, `<your-key>`,
 * `EXAMPLE` keys, `changeme`, runs of one character.
 */
export function isPlaceholder(value: string): boolean {
  const v = value.toLowerCase();
  if (/x{4,}|\*{3,}|#{4,}|\.{3,}/.test(v)) return true;
  if (/example|your[-_]?|placeholder|changeme|redacted|<[^>]*>|\$\{|\{\{/.test(v)) return true;
  if (/^(.)\1+$/.test(v)) return true;
  if (/^(?:0+|1+|123456\d*|abc\d*|test|dummy|fake|secret|password|passwd|null|none|true|false)$/.test(v)) return true;
  return false;
}

/** IPv4 that is not part of a longer dotted number (a version like 1.2.3.4.5 or an OID). */
function ipv4Standalone({ before, after }: CheckInput): boolean {
  const prev = before[before.length - 1];
  const prev2 = before[before.length - 2];
  if (prev === 0x2e /* . */ && isDigit(prev2)) return false;
  if (isDigit(prev)) return false;
  if (after[0] === 0x2e && isDigit(after[1])) return false;
  if (isDigit(after[0])) return false;
  // "version 1.2.3.4" / "v1.2.3.4" are versions, not hosts.
  const lead = before.subarray(Math.max(0, before.length - 9)).toString('latin1').toLowerCase();
  if (/(?:version[ :=]?|ver[ :=]|\bv)$/.test(lead)) return false;
  return true;
}

/** Card or account number: 12–19 digits, Luhn-valid, not one repeated digit. */
function luhnCheck({ value, before, after }: CheckInput): boolean {
  const digits = digitsOf(value);
  if (digits.length < 12 || digits.length > 19) return false;
  if (digits.every((d) => d === digits[0])) return false;
  // Part of a longer digit run (a timestamp or an order number) is not a card.
  if (isDigit(before[before.length - 1]) || isDigit(after[0])) return false;
  return luhnValid(digits);
}

/**
 * An address-shaped value that is really the userinfo of a URL is not an e-mail address:
 * `mysql://user:pass@host` (`pass@host` looks like an address), `ssh://git@host`,
 * `https://user@host`. RFC 3986 §3.2: the authority follows `//` and its userinfo ends at `@`;
 * it contains no `/`, `?`, `#` or blanks. So a value is rejected when the text before it, back to
 * the nearest `//`, contains none of those characters.
 */
export function urlUserinfoBefore(before: string): boolean {
  return /\/\/[^\s/@?#]*$/.test(before);
}

/**
 * A value right next to a mask character is a masked documentation example, not a secret:
 * `CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz****`, `****AbCd`. Lets a long-token detector match
 * greedily (no trailing-character condition, so a token longer than the pattern's bound is still
 * redacted up to the bound) while masked examples stay findings-free.
 */
export function nextToMask(before: Buffer, after: Buffer): boolean {
  return before[before.length - 1] === 0x2a /* * */ || after[0] === 0x2a;
}

/**
 * Browser and app user-agent product tokens whose versions are dotted quads (`Chrome/119.0.0.0`,
 * `Edg/119.0.2151.58`, `MicroMessenger/8.0.42.2460`). RFC 9110 §10.1.5: product = token ["/" version].
 * Hostname/IP pairs (`host.example.com/10.0.0.1`, Java's InetAddress.toString) are not affected.
 */
const UA_PRODUCT =
  /(?:^|[^A-Za-z0-9_.-])(?:[A-Za-z]*Chrome|Chromium|CriOS|Edg[A-Za-z]*|OPR|Opera|[A-Za-z]*Browser|Maxthon|Electron|Firefox|FxiOS|Version|Safari|AppleWebKit|Gecko|MicroMessenger|AlipayClient|DingTalk|Quark|Trident)\/$/;

/** True when `before` ends with a user-agent product token and a slash. */
export function userAgentVersionBefore(before: string): boolean {
  return UA_PRODUCT.test(before);
}

/** The registry: the names pattern files may use in `validator`. */
export const CHECKS: Readonly<Record<string, Check>> = {
  luhn: luhnCheck,
  gb11643: ({ value, before, after }) =>
    !isDigit(before[before.length - 1]) && !isDigit(after[0]) && gb11643Valid(value.toString('latin1')),
  'cn-mobile': ({ value, before, after }) =>
    !isDigit(before[before.length - 1]) && !isDigit(after[0]) && cnMobileValid(value.toString('latin1')),
  ipv4: ipv4Standalone,
  'not-placeholder': ({ value }) => !isPlaceholder(value.toString('utf8')),
  'not-url-userinfo': ({ before }) => !urlUserinfoBefore(before.toString('latin1')),
  'not-masked': ({ before, after }) => !nextToMask(before, after),
  'not-ua-version': ({ before }) => !userAgentVersionBefore(before.subarray(Math.max(0, before.length - 48)).toString('latin1')),
};

/** Names accepted in a pattern file's `validator` field. */
export const CHECK_NAMES: readonly string[] = Object.keys(CHECKS).sort();

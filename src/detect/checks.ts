/**
 * Named validators that a detector references from data (`"validator": "luhn"`). They hold the
 * logic a regex cannot express: check digits, calendar dates, context around a match. Each
 * receives the candidate value and a little context on either side (at most
 * {@link CONTEXT_BYTES}), and returns true to keep the finding.
 */

import { isIPv6 } from 'node:net';

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
  if (/x{6,}|\*{3,}|#{4,}|\.{3,}/.test(v)) return true;
  // `your` alone is four letters, which a random 20-character key tail holds about once in 55 000;
  // a template names what belongs there (your-access-key-id, your_secret_here, YourToken).
  if (/example|your[-_ ]?(?:access|secret|key|token|pass|pwd|account|app|api|ak|sk|id|name|client|user|bucket|webhook|robot|signing|private|own|value|credential)|placeholder|changeme|redacted|<[^>]*>|\$\{|\{\{/.test(v)) return true;
  if (/^(.)\1+$/.test(v)) return true;
  if (/^(?:0+|1+|123456\d*|abc\d*|test|dummy|fake|secret|password|passwd|null|none|true|false)$/.test(v)) return true;
  return false;
}

/**
 * IPv4 that is not part of a longer dotted number (a version like 1.2.3.4.5 or an OID), nor right
 * after `~` (Windows component identities: `amd64~~6.1.1.0` is a version).
 */
function ipv4Standalone({ before, after }: CheckInput): boolean {
  const prev = before[before.length - 1];
  const prev2 = before[before.length - 2];
  if (prev === 0x7e /* ~ */) return false;
  if (prev === 0x2e /* . */ && isDigit(prev2)) return false;
  if (isDigit(prev)) return false;
  if (after[0] === 0x2e && isDigit(after[1])) return false;
  if (isDigit(after[0])) return false;
  // "version 1.2.3.4" / "v1.2.3.4" / "build 1.24.0.3" are versions, not hosts. Every such lead
  // ends in n/d/v, or in a separator after n/r/d: test those bytes before building a string.
  const last = (prev ?? 0) | 0x20;
  const sep = prev === 0x20 || prev === 0x3a || prev === 0x3d; // space : =
  const beforeSep = sep ? (prev2 ?? 0) | 0x20 : 0;
  if (sep ? beforeSep !== 0x6e && beforeSep !== 0x72 && beforeSep !== 0x64 : last !== 0x6e && last !== 0x64 && last !== 0x76) return true;
  const lead = before.subarray(Math.max(0, before.length - 9)).toString('latin1').toLowerCase();
  if (/(?:version[ :=]?|ver[ :=]|build[ :=]?|\bv)$/.test(lead)) return false;
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
 * it contains no `/`, `?`, `#` or blanks, nor characters a URL cannot hold unencoded (< > " { } | \ ^ `
 * [ ]). So a value is rejected when the text before it, back to the nearest `//`, contains none of those.
 */
export function urlUserinfoBefore(before: string): boolean {
  // Characters that cannot occur in an authority (RFC 3986 §2: < > " { } | \ ^ ` and brackets outside
  // an IP literal) end the look-back too: `//token<a@b.cn>` is not userinfo.
  return /\/\/[^\s/@?#<>"{}|\\^\x60[\]]*$/.test(before);
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

/**
 * Hong Kong Identity Card number: one or two letters, six digits, check character 0-9 or A.
 * Letters count A=10 … Z=35, a missing first letter counts as a space = 36; weights 9…2 over
 * the 8-character body; check = (11 − sum mod 11) mod 11, 10 written as A. Accepts `A123456(3)`
 * and `A1234563`.
 */
export function hkidValid(value: string): boolean {
  const m = /^([A-Z]{1,2})(\d{6})\(?([0-9A])\)?$/.exec(value);
  if (!m) return false;
  const body = (m[1]!.length === 1 ? ' ' + m[1]! : m[1]!) + m[2]!;
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = body[i]!;
    const v = c === ' ' ? 36 : c >= '0' && c <= '9' ? Number(c) : c.charCodeAt(0) - 55;
    sum += v * (9 - i);
  }
  const r = (11 - (sum % 11)) % 11;
  return (r === 10 ? 'A' : String(r)) === m[3];
}

/** Letter order of the Taiwan national ID: position + 10 is the letter's two-digit code (A=10, I=34, O=35, W=32, Z=33). */
const TW_LETTERS = 'ABCDEFGHJKLMNPQRSTUVXYWZIO';
const TW_WEIGHTS = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1];

/**
 * Taiwan (ROC) national identification number: a letter, 1/2 (sex; 8/9 in the newer resident
 * certificate numbers), 8 digits; the letter's two-digit code and the nine digits weighted
 * 1,9,8,7,6,5,4,3,2,1,1 sum to a multiple of 10.
 */
export function twIdValid(value: string): boolean {
  if (!/^[A-Z][1289]\d{8}$/.test(value)) return false;
  const n = TW_LETTERS.indexOf(value[0]!) + 10;
  const digits = [Math.floor(n / 10), n % 10, ...[...value.slice(1)].map(Number)];
  return digits.reduce((acc, d, i) => acc + d * TW_WEIGHTS[i]!, 0) % 10 === 0;
}

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/**
 * Unified Social Credit Code, GB 32100-2015: 18 characters from the 31-character alphabet
 * (no I, O, S, V, Z); check character = alphabet[(31 − Σ v·w mod 31) mod 31] with weights
 * 3^(i−1) mod 31.
 */
export function usccValid(value: string): boolean {
  if (value.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_ALPHABET.indexOf(value[i]!);
    if (v < 0) return false;
    sum += v * USCC_WEIGHTS[i]!;
  }
  return USCC_ALPHABET[(31 - (sum % 31)) % 31] === value[17];
}

/** Text before a value that names it as a credit code / tax number (needed for an all-digit USCC). */
const USCC_LABEL = /(?:统一社会信用代码|統一社會信用代碼|社会信用代码|信用代码|纳税人识别号|税号|营业执照|uscc|credit[ _-]?code|tax[ _-]?(?:id|no|number))/i;

/**
 * USCC candidate as found in text: check character valid, registration authority 1-9/A/N/Y, a
 * province-level (or national 10) division code in positions 3-4, and, when all 18 characters
 * are digits (shaped like an order number or a resident ID), a label such as 统一社会信用代码
 * or 税号 in the preceding 64 bytes.
 */
function usccCheck({ value, before }: CheckInput): boolean {
  const v = value.toString('latin1');
  if (!usccValid(v)) return false;
  if (!/^[1-9ANY][1-9]/.test(v)) return false;
  const prov = Number(v.slice(2, 4));
  if (prov !== 10 && !RIC_PROVINCES.has(prov)) return false;
  if (/^\d{18}$/.test(v)) return USCC_LABEL.test(before.subarray(Math.max(0, before.length - 64)).toString('utf8'));
  return true;
}

/** IBAN length per country (SWIFT IBAN registry). A country not listed does not issue IBANs. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30,
  KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20,
  MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22,
  RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/**
 * IBAN (ISO 13616): blanks removed, the registry length of its country, and ISO 7064 MOD 97-10:
 * the first four characters moved to the end, letters replaced by 10…35, the number mod 97 is 1.
 */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  if (IBAN_LENGTHS[s.slice(0, 2)] !== s.length) return false;
  let rem = 0;
  for (const c of s.slice(4) + s.slice(0, 4)) {
    const v = parseInt(c, 36);
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/**
 * IPv6 address (RFC 4291 text forms, checked with `net.isIPv6`) that is not a code path or a
 * byte dump: a compressed form (`::`) needs at least four hex digits (`fe80::1`; `a::b` and
 * `DB::` are C++/Rust paths), except the loopback `::1`; a full form of eight two-digit groups
 * (`50:06:01:60:3b:a0:1b:2c`, a WWN or a fingerprint slice) is not an address.
 */
export function ipv6Plausible(value: string): boolean {
  if (!isIPv6(value)) return false;
  if (value === '::1') return true;
  if (value.includes('::')) return (value.match(/[0-9A-Fa-f]/g) ?? []).length >= 4;
  const groups = value.split(':');
  return !(groups.length === 8 && groups.every((g) => g.length === 2));
}

/**
 * MAC address (EUI-48) as printed: six hex octets with one separator used throughout (`:` or
 * `-`), or Cisco's three dot-separated groups of four. Not reported: mixed separators, all-zero
 * and broadcast addresses, and all-decimal values (dates and counters such as 17-11-25-10-47-02);
 * the dotted form needs a hex letter (1234.5678.9012 is a number).
 */
export function macValid(value: string): boolean {
  let hex: string;
  if (/^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/.test(value)) {
    hex = value.replace(/\./g, '');
  } else {
    const m = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}$/.exec(value);
    if (!m) return false;
    hex = value.replace(/[:-]/g, '');
  }
  if (/^0+$/.test(hex) || /^f+$/i.test(hex)) return false;
  return /[A-Fa-f]/.test(hex);
}

/**
 * Mainland landline: optional +86/0086, trunk 0, area code 10 or 2x (2 digits, then an 8-digit
 * subscriber number) or 3 digits starting 3-9 (then 7 or 8 digits), subscriber number starting
 * 2-9, optional extension after "-".
 */
export function cnLandlineValid(value: string): boolean {
  let v = value.trim();
  let international = false;
  if (v.startsWith('+86')) {
    v = v.slice(3);
    international = true;
  } else if (v.startsWith('0086')) {
    v = v.slice(4);
    international = true;
  }
  // Extension: the last "-" group after a complete number (only when a separator split the number).
  const groups = v.replace(/[()]/g, ' ').trim().split(/[ -]+/);
  let digits = groups.join('');
  if (groups.length >= 3) {
    const ext = groups[groups.length - 1]!;
    const rest = groups.slice(0, -1).join('');
    if (/^0?(?:10|2\d)\d{8}$|^0?[3-9]\d{2}\d{7,8}$/.test(rest) && ext.length <= 6) digits = rest;
  }
  if (!international) {
    if (!digits.startsWith('0')) return false;
    digits = digits.slice(1);
  } else if (digits.startsWith('0')) {
    digits = digits.slice(1);
  }
  if (/^(?:10|2\d)[2-9]\d{7}$/.test(digits)) return true;
  return /^[3-9]\d{2}[2-9]\d{6,7}$/.test(digits);
}

/** ITU-T E.164 country calling codes (prefix-free): one-, two- and three-digit codes in use. */
const CC1 = new Set(['1', '7']);
const CC2 = new Set(
  '20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98'.split(' '),
);
const CC3_RANGES: ReadonlyArray<[number, number]> = [
  [211, 213], [216, 216], [218, 218], [220, 258], [260, 269], [290, 291], [297, 299], [350, 359], [370, 383],
  [385, 387], [389, 389], [420, 421], [423, 423], [500, 509], [590, 599], [670, 670], [672, 683], [685, 692],
  [800, 800], [808, 808], [850, 850], [852, 853], [855, 856], [870, 870], [878, 878], [880, 883], [886, 886],
  [888, 888], [960, 968], [970, 977], [979, 979], [992, 996], [998, 998],
];

/** True when `digits` starts with an assigned country calling code. */
export function hasCountryCode(digits: string): boolean {
  if (CC1.has(digits.slice(0, 1))) return true;
  if (CC2.has(digits.slice(0, 2))) return true;
  const three = Number(digits.slice(0, 3));
  return CC3_RANGES.some(([lo, hi]) => three >= lo && three <= hi);
}

/**
 * International phone number in E.164 form, written with a leading + and optional single blanks,
 * dashes or a parenthesised area code: 8 to 15 digits in all (E.164 allows at most 15) starting
 * with an assigned country code. Not an ISO date with a sign (+2024-01-15).
 */
export function e164Valid(value: string): boolean {
  if (!value.startsWith('+')) return false;
  if (/^\+\d{4}-\d{2}-\d{2}/.test(value)) return false;
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length < 8 || digits.length > 15) return false;
  return hasCountryCode(digits);
}

/** Common Chinese surnames (simplified and traditional forms), single characters. */
const CN_SURNAMES = new Set(
  [
    '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜阚权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由',
    '張劉陳楊黃趙吳孫馬鄭謝許韓馮鄧蕭葉蘇呂盧鍾譚陸賈韋鄒閻賀顧龔錢嚴湯溫聶莊歐關蘭羅蔣餘龍陶萬賴顏魯嶽殷詹喬龐聞樂傅鄺鮑陸錢',
  ].join(''),
);
/** Two-character (compound) surnames. */
const CN_COMPOUND_SURNAMES = new Set(
  '欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫 西门 百里 呼延 澹台 公冶 太史 申屠 钟离 闾丘 濮阳 淳于 单于 赫连 拓跋 万俟 司空 东郭 第五 歐陽 司馬 諸葛 東方 長孫 軒轅 鍾離 南宮'.split(' '),
);
/** Words that fill a name field without being a name. */
const CN_NOT_NAME = /测试|測試|用户|用戶|管理|未知|暂无|暫無|匿名|本人|默认|默認|不详|不詳|未填|公司|集团|集團|有限|服务|服務|系统|系統|客户|客戶/;

/**
 * A Chinese personal name as written after a label such as 姓名 or 联系人: starts with a common
 * surname (or a compound surname such as 欧阳), is not a filler word (测试, 未知, 暂无, 用户…), or is a
 * transliterated minority name with a middle dot (阿依古丽·买买提).
 */
export function cnNameValid(value: string): boolean {
  if (CN_NOT_NAME.test(value)) return false;
  if (value.includes('·')) return true;
  const chars = [...value];
  if (chars.length < 2) return false;
  if (CN_COMPOUND_SURNAMES.has(chars.slice(0, 2).join(''))) return true;
  return CN_SURNAMES.has(chars[0]!);
}

/** Words before a coordinate pair that say it is a position. */
const GEO_LABEL = /(?:lat|lng|lon|gps|coord|location|position|geo|point|坐标|座標|经纬度|經緯度|纬度|经度|位置|定位)/i;

/**
 * A pair of decimal coordinates ("30.274085,120.155070", either order: Amap and Baidu write
 * longitude first): both within ±180, at least one within ±90, not both zero-ish; and either a
 * position label in the preceding 64 bytes or at least 5 decimals on both numbers.
 */
function geoPairCheck({ value, before }: CheckInput): boolean {
  const m = /^(-?\d{1,3})\.(\d+)\s*[,，]\s*(-?\d{1,3})\.(\d+)$/u.exec(value.toString('utf8'));
  if (!m) return false;
  const a = Number(`${m[1]}.${m[2]}`);
  const b = Number(`${m[3]}.${m[4]}`);
  if (Math.abs(a) > 180 || Math.abs(b) > 180) return false;
  if (Math.abs(a) > 90 && Math.abs(b) > 90) return false;
  if (Math.abs(a) < 1 && Math.abs(b) < 1) return false;
  if (GEO_LABEL.test(before.subarray(Math.max(0, before.length - 64)).toString('utf8'))) return true;
  return m[2]!.length >= 5 && m[4]!.length >= 5;
}

/** True when an all-digit value reads as a calendar date YYYYMMDD (1900-2099). */
export function looksLikeDate(value: string): boolean {
  const m = /^(19|20)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.exec(value);
  return m !== null;
}

const TOKEN_START = Buffer.from('[REDACTED:');

/**
 * True when `after` continues the value: a letter, digit or _, or `sep` followed by a hex digit
 * or by a redaction token (the value was the head of something longer that is already redacted,
 * e.g. the ::ffff: prefix of a mapped IPv4 address).
 */
function continuesHex(after: Buffer, sep: number): boolean {
  const a = after[0];
  if (a === undefined) return false;
  if (isDigit(a) || (a >= 0x41 && a <= 0x5a) || (a >= 0x61 && a <= 0x7a) || a === 0x5f) return true;
  const b = after[1];
  if (a === sep && after.subarray(1, 1 + TOKEN_START.length).equals(TOKEN_START)) return true;
  return a === sep && b !== undefined && (isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
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
  // Most IPs follow a space, not a slash: skip the string and regex then (hot on access logs).
  'not-ua-version': ({ before }) =>
    before[before.length - 1] !== 0x2f /* / */ || !userAgentVersionBefore(before.subarray(Math.max(0, before.length - 48)).toString('latin1')),
  /** Both letters and digits (an AccessKey ID, not a word such as "parameterized"). */
  'alnum-mix': ({ value }) => /[A-Za-z]/.test(value.toString('latin1')) && /\d/.test(value.toString('latin1')),
  hkid: ({ value, before }) => {
    const v = value.toString('latin1');
    if (!hkidValid(v)) return false;
    // Without the parenthesised check digit, a label must say it is an HKID.
    if (v.includes('(')) return true;
    return /(?:hkid|hkic|hong[ _-]?kong[ _-]?id|香港身份證|香港身份证|身份證)/i.test(before.subarray(Math.max(0, before.length - 48)).toString('utf8'));
  },
  'tw-id': ({ value }) => twIdValid(value.toString('latin1')),
  uscc: usccCheck,
  iban: ({ value }) => ibanValid(value.toString('latin1')),
  ipv6: ({ value, after }) => ipv6Plausible(value.toString('latin1')) && !continuesHex(after, 0x3a /* : */),
  mac: ({ value, after }) => macValid(value.toString('latin1')) && !continuesHex(after, 0x3a) && !continuesHex(after, 0x2d /* - */) && !continuesHex(after, 0x2e /* . */),
  'cn-landline': ({ value, before, after }) =>
    !isDigit(before[before.length - 1]) && !isDigit(after[0]) && cnLandlineValid(value.toString('latin1')),
  e164: ({ value, before, after }) => !isDigit(before[before.length - 1]) && !isDigit(after[0]) && e164Valid(value.toString('latin1')),
  'cn-name': ({ value }) => cnNameValid(value.toString('utf8')),
  'geo-pair': geoPairCheck,
  /** A single latitude or longitude: within ±180 and not a whole number written with zeros (0.0000). */
  'geo-coordinate': ({ value }) => {
    const n = Number(value.toString('latin1'));
    return Number.isFinite(n) && Math.abs(n) <= 180 && n !== 0;
  },
  /** An all-digit document number that is not a YYYYMMDD date (通行证有效期 20301231). */
  'not-date': ({ value }) => !looksLikeDate(value.toString('latin1')),
};

/** Names accepted in a pattern file's `validator` field. */
export const CHECK_NAMES: readonly string[] = Object.keys(CHECKS).sort();

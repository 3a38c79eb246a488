/**
 * Offset conversions: parsers report UTF-16 code-unit indices into a JS string, the redactor
 * works in UTF-8 byte offsets; a JSON string's decoded characters map back to its escaped source.
 */

/**
 * Converts UTF-16 indices of `text` to UTF-8 byte offsets in one pass.
 * @returns a function from each requested index to its byte offset.
 */
export function utf8Offsets(text: string, indices: readonly number[]): (i: number) => number {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const map = new Map<number, number>();
  let bytes = 0;
  let at = 0;
  for (const target of sorted) {
    for (; at < target && at < text.length; at++) {
      const c = text.charCodeAt(at);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c <= 0xdbff && at + 1 < text.length) {
        const d = text.charCodeAt(at + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          bytes += 4;
          at++;
        } else bytes += 3;
      } else bytes += 3;
    }
    map.set(target, bytes);
  }
  return (i) => {
    const b = map.get(i);
    if (b === undefined) throw new Error('offset not converted');
    return b;
  };
}

/**
 * Decodes the inside of a JSON string literal (no quotes) and maps each decoded UTF-16 index to
 * the index of its first source character, so a range of the decoded value maps to the escaped
 * source range that produced it. `map[value.length]` is the source length.
 * @returns undefined when the literal is malformed.
 */
export function decodeJsonString(raw: string): { value: string; map: Uint32Array } | undefined {
  if (raw.indexOf('\\') < 0) {
    const map = new Uint32Array(raw.length + 1);
    for (let i = 0; i <= raw.length; i++) map[i] = i;
    return { value: raw, map };
  }
  const parts: string[] = [];
  const map: number[] = [];
  for (let i = 0; i < raw.length; ) {
    const c = raw[i]!;
    if (c !== '\\') {
      parts.push(c);
      map.push(i);
      i++;
      continue;
    }
    const e = raw.charCodeAt(i + 1);
    const simple = JSON_ESCAPES[e];
    map.push(i);
    if (simple !== undefined) {
      parts.push(simple);
      i += 2;
    } else {
      const u = e === 0x75 ? hex4(raw, i + 2) : -1;
      if (u < 0) return undefined;
      parts.push(String.fromCharCode(u));
      i += 6;
    }
  }
  map.push(raw.length);
  return { value: parts.join(''), map: Uint32Array.from(map) };
}

/** What each one-letter JSON escape (`\n`, `\"`, …) stands for, by the letter's code unit. */
export const JSON_ESCAPES: ReadonlyArray<string | undefined> = (() => {
  const out: Array<string | undefined> = [];
  out[0x22] = '"';
  out[0x5c] = '\\';
  out[0x2f] = '/';
  out[0x62] = '\b';
  out[0x66] = '\f';
  out[0x6e] = '\n';
  out[0x72] = '\r';
  out[0x74] = '\t';
  return out;
})();

/** The four hex digits of `s` at `at` (a `\u` escape's) as a number, or -1. */
export function hex4(s: string, at: number): number {
  if (at + 4 > s.length) return -1;
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = s.charCodeAt(i);
    const lower = c | 0x20; // folds A-F only: digits are checked on c (0x10-0x19 | 0x20 looks like one)
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Static analysis of an RE2 pattern: the longest match it can produce, in UTF-8 bytes.
 *
 * The streaming redactor is exact only if every match is at most `maxLength` bytes long (see
 * DESIGN.md, "Streaming is exact"). Rather than trusting the number written in a pattern file,
 * the loader computes an upper bound from the pattern itself and rejects unbounded quantifiers
 * (`*`, `+`, `{n,}`). It also counts capture groups and rejects patterns that can match the
 * empty string. The parser covers RE2's syntax; anything it does not understand is an error,
 * never a guess.
 */

/** Result of {@link analyzePattern}. Lengths are in UTF-8 bytes. */
export interface PatternBounds {
  /** Shortest possible match, in bytes. */
  readonly minBytes: number;
  /** Longest possible match, in bytes (`Infinity` when a quantifier is unbounded). */
  readonly maxBytes: number;
  /** Number of capture groups (numbered and named). */
  readonly groups: number;
}

interface Len {
  min: number;
  max: number;
}

const ZERO: Len = { min: 0, max: 0 };

class Parser {
  private pos = 0;
  groups = 0;
  /** Every `{m}`, `{m,}` and `{m,n}` quantifier: its text span in the source and its bounds. */
  readonly repeats: Array<{ from: number; to: number; lo: number; hi: number }> = [];
  /** Every capture group's opening, `(` or `(?P<name>`: its text span in the source. */
  readonly captures: Array<{ from: number; to: number }> = [];

  constructor(
    private readonly src: string,
    private caseInsensitive: boolean,
  ) {}

  fail(msg: string): never {
    throw new Error(`${msg} at offset ${this.pos}`);
  }

  parse(): Len {
    const len = this.alternation();
    if (this.pos < this.src.length) this.fail(`unexpected '${this.src[this.pos]}'`);
    return len;
  }

  private alternation(): Len {
    let acc = this.concat();
    while (this.src[this.pos] === '|') {
      this.pos++;
      const next = this.concat();
      acc = { min: Math.min(acc.min, next.min), max: Math.max(acc.max, next.max) };
    }
    return acc;
  }

  private concat(): Len {
    let acc: Len = { ...ZERO };
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const atom = this.quantified();
      acc = { min: acc.min + atom.min, max: acc.max + atom.max };
    }
    return acc;
  }

  private quantified(): Len {
    const atom = this.atom();
    const c = this.src[this.pos];
    let lo = 1;
    let hi = 1;
    if (c === '*') {
      this.pos++;
      lo = 0;
      hi = Infinity;
    } else if (c === '+') {
      this.pos++;
      hi = Infinity;
    } else if (c === '?') {
      this.pos++;
      lo = 0;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (m) {
        const from = this.pos;
        this.pos += m[0].length;
        lo = Number(m[1]);
        hi = m[2] === undefined ? lo : m[3] === '' ? Infinity : Number(m[3]);
        if (hi < lo) this.fail('bad repetition range');
        this.repeats.push({ from, to: this.pos, lo, hi });
      } else {
        return atom; // a literal '{' handled by atom() next time round
      }
    } else {
      return atom;
    }
    if (this.src[this.pos] === '?') this.pos++; // lazy
    if (this.src[this.pos] === '*' || this.src[this.pos] === '+' || this.src[this.pos] === '?') this.fail('double quantifier');
    return { min: atom.min * lo, max: atom.max === 0 ? 0 : atom.max * hi };
  }

  /** Width in bytes of one character drawn from a set described by `ascii` (true when only ASCII). */
  private charWidth(asciiOnly: boolean, hasLetter: boolean): Len {
    // Under (?i) RE2 folds 'k' to U+212A KELVIN SIGN and 's' to U+017F: up to 3 bytes.
    if (!asciiOnly) return { min: 1, max: 4 };
    if (this.caseInsensitive && hasLetter) return { min: 1, max: 3 };
    return { min: 1, max: 1 };
  }

  private atom(): Len {
    const c = this.src[this.pos];
    if (c === undefined) this.fail('unexpected end of pattern');
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape(false).len;
    if (c === '.') {
      this.pos++;
      return { min: 1, max: 4 };
    }
    if (c === '^' || c === '$') {
      this.pos++;
      return { ...ZERO };
    }
    if (c === '*' || c === '+' || c === '?') this.fail(`quantifier '${c}' with nothing to repeat`);
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    const bytes = Buffer.byteLength(String.fromCodePoint(cp));
    const letter = /[A-Za-z]/.test(String.fromCodePoint(cp));
    if (bytes === 1) return this.charWidth(true, letter);
    return { min: bytes, max: bytes };
  }

  private group(): Len {
    const open = this.pos;
    this.pos++; // (
    let capture = true;
    const saved = this.caseInsensitive;
    if (this.src[this.pos] === '?') {
      this.pos++;
      const rest = this.src.slice(this.pos);
      const named = /^(P?<[A-Za-z_][A-Za-z0-9_]*>)/.exec(rest);
      if (named) {
        this.pos += named[0].length;
      } else {
        const flags = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!flags) this.fail('unsupported group syntax (RE2 has no lookaround or backreferences)');
        this.pos += flags[0].length;
        capture = false;
        if (flags[1]!.includes('i')) this.caseInsensitive = true;
        if (flags[2]?.includes('i')) this.caseInsensitive = false;
        if (flags[3] === ')') {
          // (?i) applies to the rest of the enclosing group.
          return { ...ZERO };
        }
      }
    }
    if (capture) {
      this.groups++;
      this.captures.push({ from: open, to: this.pos });
    }
    const inner = this.alternation();
    if (this.src[this.pos] !== ')') this.fail('missing )');
    this.pos++;
    this.caseInsensitive = saved;
    return inner;
  }

  /** Parses one escape. Returns its width and whether the set it denotes is ASCII-only. */
  private escape(inClass: boolean): { len: Len; asciiOnly: boolean; hasLetter: boolean } {
    this.pos++; // backslash
    const c = this.src[this.pos];
    if (c === undefined) this.fail('trailing backslash');
    this.pos++;
    const one = (asciiOnly: boolean, hasLetter: boolean) => ({ len: this.charWidth(asciiOnly, hasLetter), asciiOnly, hasLetter });
    switch (c) {
      case 'd':
      case 's':
        return one(true, false);
      case 'w':
        return one(true, true);
      case 'D':
      case 'S':
      case 'W':
        return { len: { min: 1, max: 4 }, asciiOnly: false, hasLetter: true };
      case 'b':
      case 'B':
      case 'A':
      case 'z':
        if (inClass) this.fail(`\\${c} inside a character class`);
        return { len: { ...ZERO }, asciiOnly: true, hasLetter: false };
      case 'p':
      case 'P': {
        if (this.src[this.pos] === '{') {
          const end = this.src.indexOf('}', this.pos);
          if (end < 0) this.fail('unterminated \\p{');
          this.pos = end + 1;
        } else {
          this.pos++;
        }
        return { len: { min: 1, max: 4 }, asciiOnly: false, hasLetter: true };
      }
      case 'x': {
        let hex: string;
        if (this.src[this.pos] === '{') {
          const end = this.src.indexOf('}', this.pos);
          if (end < 0) this.fail('unterminated \\x{');
          hex = this.src.slice(this.pos + 1, end);
          this.pos = end + 1;
        } else {
          hex = this.src.slice(this.pos, this.pos + 2);
          this.pos += 2;
        }
        const cp = parseInt(hex, 16);
        if (!Number.isFinite(cp)) this.fail('bad \\x escape');
        const bytes = Buffer.byteLength(String.fromCodePoint(cp));
        return { len: { min: bytes, max: bytes }, asciiOnly: cp < 0x80, hasLetter: /[A-Za-z]/.test(String.fromCodePoint(cp)) };
      }
      case 'n':
      case 'r':
      case 't':
      case 'f':
      case 'v':
        return one(true, false);
      case 'Q':
      case 'C':
        return this.fail(`\\${c} is not supported in detector patterns`);
      default:
        if (/[0-9]/.test(c)) this.fail('backreferences and octal escapes are not supported');
        if (/[A-Za-z]/.test(c)) this.fail(`unknown escape \\${c}`);
        return one(true, false);
    }
  }

  private charClass(): Len {
    this.pos++; // [
    let negated = false;
    if (this.src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    let asciiOnly = true;
    let hasLetter = false;
    let first = true;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) this.fail('unterminated character class');
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.src[this.pos + 1] === ':') {
        const end = this.src.indexOf(':]', this.pos + 2);
        if (end < 0) this.fail('unterminated [: class');
        hasLetter = true;
        this.pos = end + 2;
        continue;
      }
      if (c === '\\') {
        const e = this.escape(true);
        asciiOnly &&= e.asciiOnly;
        hasLetter ||= e.hasLetter;
        continue;
      }
      const cp = this.src.codePointAt(this.pos)!;
      this.pos += cp > 0xffff ? 2 : 1;
      if (cp >= 0x80) asciiOnly = false;
      if (/[A-Za-z]/.test(String.fromCodePoint(cp))) hasLetter = true;
    }
    // A negated class matches every character not listed, including multi-byte ones.
    return negated ? { min: 1, max: 4 } : this.charWidth(asciiOnly, hasLetter);
  }
}

/**
 * Computes byte-length bounds and the capture-group count of an RE2 pattern.
 * @param source the pattern text (RE2 syntax).
 * @param flags detector flags; only `i` changes the result.
 * @throws Error describing the unsupported construct and its character offset.
 */
export function analyzePattern(source: string, flags = ''): PatternBounds {
  const p = new Parser(source, flags.includes('i'));
  const len = p.parse();
  return { minBytes: len.min, maxBytes: len.max, groups: p.groups };
}

/** Upper repetition bound from which {@link relaxedPattern} rewrites a quantifier. */
export const RELAX_THRESHOLD = 256;

/**
 * A pattern that matches wherever `source` does but compiles to a small program: every counted
 * repetition with an upper bound of `threshold` or more becomes `+` (or `*` when it may repeat
 * zero times). RE2 writes a counted repetition out once per count, and a few `{1000}`s make a
 * program whose DFA states outgrow RE2's default 8 MiB budget: the search then falls back to the
 * NFA at ~30 MB/s instead of ~500 (measured in DESIGN.md). Each replaced piece matches a superset
 * of what it replaced, so the whole pattern does too, at every position and with the same
 * look-behind: a match of `source` starting at byte s implies one of the result at s. The result
 * has no capture groups.
 * @returns undefined when nothing would change, or when the result could match the empty string
 *   (every position would be a candidate).
 * @throws Error as {@link analyzePattern} does.
 */
export function relaxedPattern(source: string, flags = '', threshold = RELAX_THRESHOLD): string | undefined {
  const p = new Parser(source, flags.includes('i'));
  p.parse();
  const long = p.repeats.filter((r) => r.hi >= threshold);
  if (long.length === 0) return undefined;
  // Only where a match starts is used, so capture groups become plain groups: node-re2 then
  // copies no group out of each candidate, and RE2 need not find where groups fall in it.
  const edits = [
    ...long.map((r) => ({ from: r.from, to: r.to, text: r.lo > 0 ? '+' : '*' })),
    ...p.captures.map((c) => ({ from: c.from, to: c.to, text: '(?:' })),
  ].sort((x, y) => x.from - y.from);
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += source.slice(at, e.from) + e.text;
    at = e.to;
  }
  out += source.slice(at);
  return analyzePattern(out, flags).minBytes > 0 ? out : undefined;
}

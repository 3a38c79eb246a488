/**
 * The regex engine seam: the only module that imports `re2`.
 *
 * Everything here works on Buffers and byte offsets. node-re2 re-encodes a JS string to UTF-8
 * on every call and caches the copy weakly, so scanning strings is slow and can degrade badly;
 * Buffers avoid both. Callers never see an RE2 object.
 */
import RE2 from 're2';

/** One match, as byte offsets into the searched Buffer. `end` is exclusive. */
export interface RegexMatch {
  /** Start of the whole match. */
  readonly start: number;
  /** End of the whole match. */
  readonly end: number;
  /** Start of the selected capture group (equals `start` for group 0). */
  readonly groupStart: number;
  /** End of the selected capture group; `groupStart === groupEnd === -1` when the group did not participate. */
  readonly groupEnd: number;
}

/** A compiled pattern that searches Buffers. */
export interface CompiledRegex {
  /**
   * Finds the leftmost match starting at or after byte `from`. Bytes before `from` still count
   * as context for `\b` and `^`, exactly as in a search of the whole buffer.
   */
  execAt(buf: Buffer, from: number): RegexMatch | null;
}

/** Flags a detector may set. */
export type RegexFlags = '' | 'i' | 's' | 'm' | 'is' | 'im' | 'ms' | 'ims';

/** Wraps a pattern so its flags stay scoped when combined with other patterns. */
function scoped(source: string, flags: string): string {
  return flags ? `(?${flags}:${source})` : `(?:${source})`;
}

/**
 * Compiles an RE2 pattern for byte-offset searching.
 * @param group the capture group whose span {@link RegexMatch.groupStart} reports; 0 = whole match.
 * @throws Error with RE2's own message when the pattern is not valid RE2 syntax.
 */
export function compileRegex(source: string, flags: string, group: number): CompiledRegex {
  // Compiled on first use: a run touches only the detectors whose keywords occur in the input,
  // and compiling all ~75 patterns up front was a third of the start-up time. Validity is checked
  // at load time by regexError (user files) or by the test suite (the built-in set).
  let re: RE2 | undefined;
  // With the `d` flag node-re2 builds an index pair per group per match, which costs more than
  // the search itself on dense logs (~9.5 vs ~6 µs per IPv4 match, measured in DESIGN.md). The
  // group's offset is instead found inside the whole match; only when the group's text occurs
  // there more than once is the match repeated with indices (same start, so the same match).
  let withIndices: RE2 | undefined;
  return {
    execAt(buf: Buffer, from: number): RegexMatch | null {
      re ??= new RE2(scoped(source, flags), 'gu');
      re.lastIndex = from;
      const m = re.exec(buf) as unknown as (Buffer | undefined)[] & { index: number } | null;
      if (!m) return null;
      const whole = m[0]!;
      const start = m.index;
      const end = start + whole.length;
      if (group === 0) return { start, end, groupStart: start, groupEnd: end };
      const g = m[group];
      if (g === undefined) return { start, end, groupStart: -1, groupEnd: -1 };
      const at = whole.indexOf(g);
      if (g.length > 0 && whole.indexOf(g, at + 1) < 0) return { start, end, groupStart: start + at, groupEnd: start + at + g.length };
      withIndices ??= new RE2(scoped(source, flags), 'gdu');
      withIndices.lastIndex = start;
      const d = withIndices.exec(buf) as (RegExpExecArray & { indices?: Array<[number, number] | undefined> }) | null;
      const span = d?.indices?.[group];
      return span ? { start, end, groupStart: span[0], groupEnd: span[1] } : { start, end, groupStart: -1, groupEnd: -1 };
    },
  };
}

/**
 * A multi-pattern prefilter: one pass over a Buffer tells which patterns match anywhere in it.
 * Used to skip detectors that cannot match a window at all.
 */
export interface PatternSet {
  /** Indices (into the source array) of the patterns with at least one match in `buf`. */
  matching(buf: Buffer): number[];
}

/** DFA memory for prefilter sets; RE2's 8 MiB default is exhausted by a few dozen long patterns. */
const SET_MAX_MEM = 256 * 1024 * 1024;

/** Compiles a {@link PatternSet}. Each entry keeps its own flags. */
export function compileSet(patterns: ReadonlyArray<{ source: string; flags: string }>): PatternSet {
  if (patterns.length === 0) return { matching: () => [] };
  const set = new RE2.Set(
    patterns.map((p) => scoped(p.source, p.flags)),
    'u',
    { anchor: 'unanchored', maxMem: SET_MAX_MEM },
  );
  return { matching: (buf) => set.match(buf) };
}

/** Escapes RE2 metacharacters so a keyword is matched literally. */
function literal(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/** A {@link PatternSet} of case-insensitive literals (keyword prefilter). */
export function compileLiteralSet(literals: readonly string[]): PatternSet {
  return compileSet(literals.map((l) => ({ source: literal(l), flags: 'i' })));
}

/** Checks that a pattern compiles with RE2; returns RE2's error message, or undefined when valid. */
export function regexError(source: string, flags: string): string | undefined {
  try {
    new RE2(scoped(source, flags), 'u');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The regex engine seam: the only module that imports `re2`.
 *
 * Everything here works on Buffers and byte offsets. node-re2 re-encodes a JS string to UTF-8
 * on every call and caches the copy weakly, so scanning strings is slow and can degrade badly;
 * Buffers avoid both. Callers never see an RE2 object.
 */
import RE2 from 're2';
import { RELAX_THRESHOLD, relaxedPattern } from './bound.js';

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
  /**
   * Every match from byte `from` to the end of `buf`, in order, exactly as a loop of
   * {@link CompiledRegex.execAt} calls would find them (each search starting where the last match
   * ended), but in one native call: flat `[start, end, groupStart, groupEnd, …]` byte offsets.
   * A group that is empty or takes no part is reported as −1, −1 (no value either way). Returns
   * undefined when one call cannot stand for that loop (the searched bytes hold a NUL, a match is
   * empty, or a match starts at `from − 1`) or when the pattern is searched in two steps (its
   * replace would run the long program over every byte); the caller then loops over `execAt`.
   */
  execAll(buf: Buffer, from: number): number[] | undefined;
}

/** What node-re2's `exec` returns for a Buffer: the match and each group as Buffers, and where it starts. */
type ExecResult = (Buffer | undefined)[] & { index: number };

/** Flags a detector may set. */
export type RegexFlags = '' | 'i' | 's' | 'm' | 'is' | 'im' | 'ms' | 'ims';

/** Wraps a pattern so its flags stay scoped when combined with other patterns. */
function scoped(source: string, flags: string): string {
  return flags ? `(?${flags}:${source})` : `(?:${source})`;
}

/**
 * Compiles an RE2 pattern for byte-offset searching.
 * @param group the capture group whose span {@link RegexMatch.groupStart} reports; 0 = whole match.
 * @param relaxAt repetition bound from which the pattern is searched in two steps (see
 *   {@link relaxedPattern}); `Infinity` = never. Only tests change it: the matches are the same.
 * @throws Error with RE2's own message when the pattern is not valid RE2 syntax.
 */
export function compileRegex(source: string, flags: string, group: number, relaxAt = RELAX_THRESHOLD): CompiledRegex {
  // Compiled on first use: a run touches only the detectors whose keywords occur in the input,
  // and compiling all ~75 patterns up front was a third of the start-up time. Validity is checked
  // at load time by regexError (user files) or by the test suite (the built-in set).
  let re: RE2 | undefined;
  // With the `d` flag node-re2 builds an index pair per group per match, which costs more than
  // the search itself on dense logs (~9.5 vs ~6 µs per IPv4 match, measured in DESIGN.md). The
  // group's offset is instead found inside the whole match; only when the group's text occurs
  // there more than once is the match repeated with indices (same start, so the same match).
  let withIndices: RE2 | undefined;
  /** The group's span by indices, for a match known to start at `start`. */
  const indexedGroup = (buf: Buffer, start: number): [number, number] | undefined => {
    withIndices ??= new RE2(scoped(source, flags), 'gdu');
    withIndices.lastIndex = start;
    const d = withIndices.exec(buf) as (RegExpExecArray & { indices?: Array<[number, number] | undefined> }) | null;
    return d?.indices?.[group];
  };
  // A pattern with long counted repetitions is searched in two steps: its relaxed form (see
  // relaxedPattern) finds where a match may start, the pattern itself is tried anchored there.
  // The relaxed form matches at every start the pattern does, so its leftmost candidate that the
  // pattern confirms is the pattern's leftmost match, and the anchored try picks the same match
  // there as a search would. null = no relaxed form (the pattern is searched in one step).
  let relaxedRe: RE2 | null | undefined;
  const relaxedSearch = (): RE2 | null => {
    if (relaxedRe !== undefined) return relaxedRe;
    const relaxed = relaxAt === Infinity ? undefined : relaxedPattern(source, flags, relaxAt);
    relaxedRe = relaxed === undefined ? null : new RE2(scoped(relaxed, flags), 'gu');
    return relaxedRe;
  };
  // The pattern itself, anchored: compiled at the first candidate. Its long program costs 3–30 ms
  // to compile (all two-step detectors ~150 ms, per thread), and most inputs never need it.
  let anchored: RE2 | undefined;
  /** The leftmost match from `from`, as node-re2 returns it. */
  const search = (buf: Buffer, from: number): ExecResult | null => {
    const finder = relaxedSearch();
    if (!finder) {
      re ??= new RE2(scoped(source, flags), 'gu');
      re.lastIndex = from;
      return re.exec(buf) as unknown as ExecResult | null;
    }
    for (let at = from; at <= buf.length; ) {
      finder.lastIndex = at;
      const candidate = finder.exec(buf);
      if (!candidate) return null;
      anchored ??= new RE2(scoped(source, flags), 'yu');
      anchored.lastIndex = candidate.index;
      const m = anchored.exec(buf) as unknown as ExecResult | null;
      if (m) return m;
      at = candidate.index + 1;
    }
    return null;
  };
  // The whole match between two marker bytes, then (with a group) the group's text and a third.
  const template = group === 0 ? `${MARK}$&${MARK}` : `${MARK}$&${MARK}$${group}${MARK}`;
  return {
    execAt(buf: Buffer, from: number): RegexMatch | null {
      const m = search(buf, from);
      if (!m) return null;
      const whole = m[0]!;
      const start = m.index;
      const end = start + whole.length;
      if (group === 0) return { start, end, groupStart: start, groupEnd: end };
      const g = m[group];
      if (g === undefined) return { start, end, groupStart: -1, groupEnd: -1 };
      const at = whole.indexOf(g);
      if (g.length > 0 && whole.indexOf(g, at + 1) < 0) return { start, end, groupStart: start + at, groupEnd: start + at + g.length };
      const span = indexedGroup(buf, start);
      return span ? { start, end, groupStart: span[0], groupEnd: span[1] } : { start, end, groupStart: -1, groupEnd: -1 };
    },
    execAll(buf: Buffer, from: number): number[] | undefined {
      if (relaxedSearch()) return undefined;
      // A global replace always searches from the start of its input, so it gets a view that
      // starts one byte early: that byte is all the look-behind RE2 has (\b and ^ look one
      // byte back), and a match starting on it is one the loop from `from` would not see.
      const lead = from > 0 ? 1 : 0;
      const view = buf.subarray(from - lead);
      if (view.includes(0)) return undefined;
      re ??= new RE2(scoped(source, flags), 'gu');
      // replace() reads lastIndex too, even when global: one left past the view's end by an
      // execAt call makes it return the input unchanged, which would read as "no match".
      re.lastIndex = 0;
      const out = re.replace(view, template) as unknown as Buffer;
      const found: number[] = [];
      // Offsets in `out` run ahead of the view's by the marker and group bytes written so far.
      let shift = 0;
      for (let open = out.indexOf(0); open >= 0; ) {
        const close = out.indexOf(0, open + 1);
        const length = close - open - 1;
        const start = open - shift;
        // (close < 0 cannot happen with the NUL check above; declining beats looping forever.)
        if (close < 0 || length === 0 || (lead === 1 && start === 0)) return undefined;
        const at = from - lead + start;
        let next = close;
        if (group === 0) {
          found.push(at, at + length, at, at + length);
          shift += 2;
        } else {
          next = out.indexOf(0, close + 1);
          if (next < 0) return undefined;
          const g = next - close - 1;
          shift += 3 + g;
          if (g === 0) {
            found.push(at, at + length, -1, -1); // empty or not taking part: no hit either way
          } else {
            const whole = out.subarray(open + 1, close);
            const text = out.subarray(close + 1, next);
            const k = whole.indexOf(text);
            if (whole.indexOf(text, k + 1) < 0) found.push(at, at + length, at + k, at + k + g);
            else {
              const span = indexedGroup(buf, at);
              found.push(at, at + length, span ? span[0] : -1, span ? span[1] : -1);
            }
          }
        }
        open = out.indexOf(0, next + 1);
      }
      return found;
    },
  };
}

/** Marks match boundaries in {@link CompiledRegex.execAll}'s replace output; text never holds it. */
const MARK = '\u0000';

/**
 * A multi-pattern prefilter: one pass over a Buffer tells which patterns match anywhere in it.
 * Used to skip detectors that cannot match a window at all.
 */
export interface PatternSet {
  /** Indices (into the source array) of the patterns with at least one match in `buf`. */
  matching(buf: Buffer): number[];
}

/**
 * Memory for a prefilter set's program and DFA states. A set's DFA is never given up for being
 * slow: when its states fill the budget, RE2 drops them and builds the ones in use again (and RE2
 * checks at compile time that the DFA can run at all). A small cache stays in the CPU's caches:
 * the set of keyword detectors' relaxed patterns took 3.3–3.4 s over the 1 GB corpus with 8 or
 * 16 MiB, 4.2 s with 32 and 4.8 s with 256.
 */
const SET_MEM = 16 * 1024 * 1024;
/** ... and for a set whose program does not fit that: long patterns RE2 writes out in full. */
const SET_MAX_MEM = 256 * 1024 * 1024;

/**
 * Compiles a {@link PatternSet}. Each entry keeps its own flags.
 * @param memBytes budget tried first (see SET_MEM); only tests change it.
 * @throws Error with RE2's message when the set cannot be compiled in {@link SET_MAX_MEM} either.
 */
export function compileSet(patterns: ReadonlyArray<{ source: string; flags: string }>, memBytes = SET_MEM): PatternSet {
  if (patterns.length === 0) return { matching: () => [] };
  const sources = patterns.map((p) => scoped(p.source, p.flags));
  const build = (maxMem: number): InstanceType<typeof RE2.Set> => new RE2.Set(sources, 'u', { anchor: 'unanchored', maxMem });
  let set: InstanceType<typeof RE2.Set>;
  try {
    set = build(memBytes);
  } catch {
    set = build(SET_MAX_MEM);
  }
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

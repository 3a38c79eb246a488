/**
 * Windowed, exact matching of many detectors over a byte stream.
 *
 * A {@link FileScanner} is fed successive windows of one file (each window = retained tail of the
 * previous one + new bytes) and returns only hits that are *final*: hits that a scan of the
 * whole file would report identically. Each detector runs on its own (union semantics), so two
 * overlapping detectors can never leave part of a value visible, as leftmost-first alternation
 * can. The argument for exactness is in DESIGN.md ("Streaming is exact"); in short, a match
 * starting at `s` is accepted only when `s + maxLength + CONTEXT_BYTES` bytes are present, and a
 * detector's search resumes exactly where a whole-file search would.
 */
import { CATEGORIES } from './detector.js';
import type { Detector } from './detector.js';
import { CONTEXT_BYTES, shannonEntropy } from './checks.js';
import { relaxedPattern } from './bound.js';
import { compileLiteralSet, compileSet } from './engine.js';
import type { PatternSet, RegexMatch } from './engine.js';
import { insideToken } from '../redact/token.js';

/** One sensitive span found by one detector. Offsets are absolute byte offsets in the file. */
export interface Hit {
  readonly detector: Detector;
  /** Start of the sensitive value (the capture group). */
  readonly start: number;
  /** End of the sensitive value, exclusive. */
  readonly end: number;
  /** Start of the whole regex match (includes key names and other context). */
  readonly matchStart: number;
  readonly matchEnd: number;
}

/**
 * A batch search copies the searched bytes twice (~20 µs per 64 KiB) and saves ~2–3 µs per match
 * over an `execAt` call (measured on nginx logs with the IPv4 pattern): worth it from about one
 * match per 8 KiB.
 */
const BATCH_BYTES_PER_MATCH = 8 * 1024;
/**
 * ... and only over this much. A small window (a file's tail, a test's tiny chunks) searches
 * mostly the retained lag, where a batch would find the same unsettled matches on every call and
 * the `execAt` loop stops at the first: 1–3 byte chunks in test/streaming.test.ts took 54 s
 * against 31 without this floor.
 */
const BATCH_MIN_BYTES = 16 * 1024;
/**
 * Matches an `execAt` loop finds before it asks whether the detector is dense here: when they
 * came within this many times {@link BATCH_BYTES_PER_MATCH}, the rest of the window is one batch.
 * A file's first window has no earlier density to go by.
 */
const DENSE_AFTER = 8;
/**
 * True when a detector that found `matches` matches in `searched` bytes is dense enough (one per
 * {@link BATCH_BYTES_PER_MATCH}) for one batch call to pay for the `left` bytes still to search
 * (at least {@link BATCH_MIN_BYTES}).
 */
function batchPays(matches: number, searched: number, left: number): boolean {
  return left >= BATCH_MIN_BYTES && matches * BATCH_BYTES_PER_MATCH >= searched;
}
/** Windows shorter than this (bytes) may go without the pattern sets while they are not compiled yet. */
const SMALL_WINDOW = 16 * 1024;
/** ... for at most this many windows per scanner. */
const SMALL_WINDOWS_UNFILTERED = 64;

/**
 * In the prefilter sets, counted repetitions from this upper bound up are written `+`
 * ({@link relaxedPattern}): a superset of each pattern, so candidates can only grow and the
 * detectors, which search with their own patterns, find the same hits. Keyword-less set: the
 * e-mail pattern's `{1,64}` and `{1,63}` were a third of its time (22 MB subset, 64 KiB slices:
 * 66 → 45 ms, the same candidates in all 354 slices; from 8 down, other patterns relax too and
 * candidates grow). Set of keyword detectors, 100 MB corpus: a first pass (DFA states built on
 * the way) 966 ms at 64, 390 ms at 16, 437 at 8; warm 332, 202, 215 ms.
 */
const SET_RELAX_AT = 16;

/**
 * A detector's pattern as a prefilter set holds it (see {@link SET_RELAX_AT}). Every loaded
 * pattern parses for the bound analysis (load.ts checks user files; the suite, the built-in set),
 * as compileRegex's two-step search also relies on.
 */
function setPattern(p: { source: string; flags: string }): { source: string; flags: string } {
  return { source: relaxedPattern(p.source, p.flags, SET_RELAX_AT) ?? p.source, flags: p.flags };
}

/** Detectors' patterns, relaxed ({@link setPattern}), in one prefilter set compiled on demand. */
class PatternGroup {
  private readonly sources: Array<{ source: string; flags: string }> = [];
  /** Detector index of each pattern, in set order. */
  readonly owners: number[] = [];
  private set: PatternSet | undefined;

  add(d: Detector, index: number): void {
    this.sources.push({ source: d.spec.pattern, flags: d.spec.flags ?? '' });
    this.owners.push(index);
  }

  /** Relaxes and compiles (not before: a run of one small file needs neither). @throws Error with RE2's message. */
  compile(): void {
    this.set ??= compileSet(this.sources.map(setPattern));
  }

  /** Adds the detectors whose (relaxed) pattern matches somewhere in `window`; nothing before {@link compile}. */
  addMatching(window: Buffer, out: Set<number>): void {
    if (this.set) for (const p of this.set.matching(window)) out.add(this.owners[p]!);
  }
}

/** Orders hits: by start, then longer first, then category rank, then detector id. */
export function compareHits(a: Hit, b: Hit): number {
  return (
    a.start - b.start ||
    b.end - a.end ||
    CATEGORIES.indexOf(a.detector.category) - CATEGORIES.indexOf(b.detector.category) ||
    (a.detector.id < b.detector.id ? -1 : a.detector.id > b.detector.id ? 1 : 0)
  );
}

/** Shared, immutable per-run matcher: the detectors plus a one-pass prefilter. */
export class Scanner {
  readonly detectors: readonly Detector[];
  /** Keyword literals → the detectors that declare them. */
  private readonly keywordSet: PatternSet | undefined;
  private readonly keywordOwners: number[][] = [];
  /** Patterns of detectors without keywords. Compiled on demand (see candidates). */
  private readonly plainPatterns = new PatternGroup();
  /**
   * Patterns of detectors with keywords: once compiled, they replace the keyword set. A keyword
   * occurs in most 64 KiB slices of a log (`id`, `token`, `secret`), so keywords left ~7 detectors
   * per slice to search it in vain.
   */
  private readonly keywordPatterns = new PatternGroup();
  /** The pattern groups are compiled (see candidates). */
  private compiled = false;
  /** Small windows seen before the pattern sets were compiled. */
  private smallWindows = 0;
  /** Largest detector `maxLength` plus context: how far behind the input a scanner can lag. */
  readonly lagBytes: number;
  /** Per detector: its pattern matches a backslash itself, so it scans the raw bytes, not {@link escapeView}. */
  readonly readsEscapes: readonly boolean[];
  /** Per detector: byte lengths of its allowed values, so most hits skip the string conversion. */
  readonly allowLengths: ReadonlyArray<ReadonlySet<number>>;

  /**
   * @param prefilter skip detectors that cannot match a window (default true). Exact: a keyword
   *   occurs inside every match of its detector, and a pattern with no match in a window cannot
   *   produce a hit there, nor can one whose relaxed form (a superset) has none. Off only to test
   *   that claim.
   */
  constructor(
    detectors: readonly Detector[],
    prefilter = true,
    /** Returns true for values the redaction policy leaves visible (see policy.ts). */
    readonly keep?: (d: Detector, value: Buffer) => boolean,
  ) {
    this.detectors = detectors;
    this.readsEscapes = detectors.map((d) => d.spec.pattern.includes('\\\\'));
    this.allowLengths = detectors.map((d) => new Set([...d.allow].map((v) => Buffer.byteLength(v))));
    this.lagBytes = Math.max(0, ...detectors.map((d) => d.maxLength)) + CONTEXT_BYTES;
    if (!prefilter || detectors.length < 2) {
      this.keywordSet = undefined;
      return;
    }
    const keywords = new Map<string, number[]>();
    detectors.forEach((d, i) => {
      (d.keywords.length > 0 ? this.keywordPatterns : this.plainPatterns).add(d, i);
      for (const k of d.keywords) {
        const key = k.toString('utf8');
        if (!keywords.has(key)) keywords.set(key, []);
        keywords.get(key)!.push(i);
      }
    });
    // Literal keywords are cheap to compile and warm, so they serve a run's first small windows;
    // the pattern sets, relaxed so their DFAs stay small, take over from there (see candidates).
    this.keywordSet = keywords.size > 0 ? compileLiteralSet([...keywords.keys()]) : undefined;
    this.keywordOwners = [...keywords.values()];
  }

  /**
   * Compiles what {@link candidates} would otherwise compile on first use, so that a pattern set
   * RE2 cannot build fails now (user pattern packs) instead of on every file.
   * @throws Error with RE2's message.
   */
  compileNow(): void {
    this.plainPatterns.compile();
    this.keywordPatterns.compile();
    this.compiled = true;
  }

  /** Starts scanning a new file. */
  forFile(): FileScanner {
    return new FileScanner(this);
  }

  /**
   * Indices of detectors that may match in `window`; undefined = all of them. The pattern sets
   * take ~30 ms to compile, more than a one-small-file run spends scanning: until a window of
   * 16 KiB or the 65th small one, detectors with keywords are candidates where a keyword occurs
   * and keyword-less ones always (a superset, so the hits are the same); after that, where their
   * (relaxed) patterns match.
   * @param sameWindow `window` is another view (escapes read) of the window just asked about: not
   *   counted again.
   */
  candidates(window: Buffer, sameWindow = false): Set<number> | undefined {
    if (!this.keywordSet && this.plainPatterns.owners.length === 0) return undefined;
    const out = new Set<number>();
    if (!this.compiled && window.length < SMALL_WINDOW && (sameWindow ? this.smallWindows : ++this.smallWindows) <= SMALL_WINDOWS_UNFILTERED) {
      if (this.keywordSet) for (const k of this.keywordSet.matching(window)) for (const i of this.keywordOwners[k]!) out.add(i);
      for (const i of this.plainPatterns.owners) out.add(i);
      return out;
    }
    if (!this.compiled) this.compileNow();
    this.keywordPatterns.addMatching(window, out);
    this.plainPatterns.addMatching(window, out);
    return out;
  }
}

/**
 * The bytes the detectors see: `window` with each JSON/C escape `\n`, `\r`, `\t` (a backslash
 * not itself escaped, then the letter) replaced by a space and the character it stands for, so
 * `"x\nLTAI…"` reads as a line break before the key. Otherwise the escape's letter glues onto the
 * value and no word-boundary pattern matches it (JSON logs put `\n` and `\t` before values all the
 * time). Same length, so offsets and the redacted bytes are the original's. Each byte depends on
 * at most two bytes before it and one after, so the view is the same for every chunking wherever
 * a match can start (≥ CONTEXT_BYTES into the window, ≥ maxLength before its end).
 * @returns `window` itself when it holds no such escape (no copy).
 */
export function escapeView(window: Buffer): Buffer {
  let view: Buffer | undefined;
  for (let i = window.indexOf(0x5c); i >= 0 && i + 1 < window.length; i = window.indexOf(0x5c, i + 1)) {
    const c = window[i + 1]!;
    const real = c === 0x6e ? 0x0a : c === 0x72 ? 0x0d : c === 0x74 ? 0x09 : -1; // n r t
    if (real < 0 || (i > 0 && window[i - 1] === 0x5c)) continue;
    view ??= Buffer.from(window);
    view[i] = 0x20;
    view[i + 1] = real;
  }
  return view ?? window;
}

/** Per-file scanning state. Feed windows in order with {@link FileScanner.scan}. */
export class FileScanner {
  /** Per detector: absolute offset where its next search starts. Never decreases. */
  private readonly resume: number[];

  /** Per detector: matches its last search found, which picks exec calls or one batch call. */
  private readonly seen: number[];

  constructor(private readonly scanner: Scanner) {
    this.resume = scanner.detectors.map(() => 0);
    this.seen = scanner.detectors.map(() => 0);
  }

  /** Lowest resume offset: every future hit starts at or after it. */
  get frontier(): number {
    return Math.min(...this.resume);
  }

  /**
   * Scans a window and returns the newly final hits (unsorted).
   * @param window bytes of the file starting at absolute offset `base`; it must start at or before
   *   `frontier - CONTEXT_BYTES` (or at 0) so look-behind context is present.
   * @param eof true when `window` reaches the end of the file.
   */
  scan(original: Buffer, base: number, eof: boolean): Hit[] {
    const view = escapeView(original);
    const end = base + original.length;
    const hits: Hit[] = [];
    const detectors = this.scanner.detectors;
    const present = this.scanner.candidates(original);
    if (view !== original && present) for (const i of this.scanner.candidates(view, true) ?? []) present.add(i);
    for (let i = 0; i < detectors.length; i++) {
      const d = detectors[i]!;
      // Detectors that match escape sequences themselves (`\\?"`, `\\r\\n`) read the bytes as they are.
      const window = this.scanner.readsEscapes[i] ? original : view;
      // A match starting before `settled` fits, with its context, inside this window.
      const settled = eof ? end : end - d.maxLength - CONTEXT_BYTES;
      let pos = this.resume[i]!;
      if (pos >= end || (present && !present.has(i))) {
        this.resume[i] = Math.max(pos, settled);
        continue;
      }
      // A detector that matched densely last time gets all its matches from one native call.
      const span = end - pos;
      let all = batchPays(this.seen[i]!, span, span) ? d.regex.execAll(window, pos - base) : undefined;
      let matches = all ? all.length / 4 : 0;
      // Otherwise, one found dense after all (a file's first window) gets the rest in one call.
      let batchable = !all;
      const from = pos;
      for (let k = 0; ; k += 4) {
        let m: RegexMatch | null;
        if (all) m = k < all.length ? { start: all[k]!, end: all[k + 1]!, groupStart: all[k + 2]!, groupEnd: all[k + 3]! } : null;
        else if ((m = d.regex.execAt(window, pos - base))) matches++;
        if (!m) {
          pos = Math.max(pos, settled);
          break;
        }
        const matchStart = base + m.start;
        if (matchStart >= settled) {
          pos = Math.max(pos, Math.min(matchStart, settled));
          break;
        }
        const matchEnd = base + m.end;
        if (m.groupStart >= 0 && m.groupEnd > m.groupStart) {
          const hit = this.accept(i, window, base, base + m.groupStart, base + m.groupEnd, matchStart, matchEnd);
          if (hit) hits.push(hit);
        }
        pos = matchEnd > matchStart ? matchEnd : matchStart + 1;
        if (batchable && matches === DENSE_AFTER) {
          batchable = false;
          // The batch from `pos` finds exactly what the execAt loop would have found next.
          if (batchPays(DENSE_AFTER, pos - from, end - pos)) {
            all = d.regex.execAll(window, pos - base);
            if (all) {
              matches += all.length / 4;
              k = -4;
            }
          }
        }
      }
      this.seen[i] = matches;
      this.resume[i] = pos;
    }
    return hits;
  }

  private accept(i: number, window: Buffer, base: number, start: number, end: number, matchStart: number, matchEnd: number): Hit | undefined {
    const d = this.scanner.detectors[i]!;
    const s = start - base;
    const e = end - base;
    if (insideToken(window, s, e)) return undefined;
    const value = window.subarray(s, e);
    if (this.scanner.allowLengths[i]!.has(e - s) && d.allow.has(value.toString('utf8'))) return undefined;
    if (this.scanner.keep?.(d, value)) return undefined;
    if (d.minEntropy !== undefined && shannonEntropy(value) < d.minEntropy) return undefined;
    if (d.checks.length > 0) {
      const input = {
        value,
        before: window.subarray(Math.max(0, s - CONTEXT_BYTES), s),
        after: window.subarray(e, Math.min(window.length, e + CONTEXT_BYTES)),
      };
      for (const check of d.checks) if (!check(input)) return undefined;
    }
    return { detector: d, start, end, matchStart, matchEnd };
  }
}

/** Whole-buffer scan with a set of detectors; hits sorted by {@link compareHits}. */
export function scanBuffer(scanner: Scanner, buf: Buffer): Hit[] {
  return scanner.forFile().scan(buf, 0, true).sort(compareHits);
}

/**
 * Compact storage for a run's listed findings.
 *
 * A scan of 100 000 small files lists ~1.2 M findings. As JS objects (seven fields, a 12-digit
 * fingerprint string, an array slot) they took ~170 bytes each, ~210 MB of live heap, and V8 let
 * the heap grow to a multiple of that. Here each finding is 32 bytes in a few large typed arrays
 * shared by the whole run, and a file's `findings` is a read-only array-like view over its slice:
 * `Array.isArray`, `length`, index access, iteration, `map`/`filter`/`some`… and `JSON.stringify`
 * behave as for the plain array it replaces, so the manifest's text is unchanged. Each access
 * builds a fresh {@link Finding}; code that walks many findings uses {@link findingColumns}.
 */
import type { Category } from './detect/detector.js';
import type { Finding } from './manifest.js';

/** Findings per chunk of the store (a power of two: index arithmetic is shifts and masks). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;
/** Bytes of a stored fingerprint: 12 hex digits. */
const FP_BYTES = 6;
const FINGERPRINT = /^[0-9a-f]{12}$/;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Column-wise read access to a list of findings, without an object per finding. */
export interface FindingColumns {
  readonly length: number;
  detector(i: number): string;
  category(i: number): Category;
  line(i: number): number;
  column(i: number): number;
  /** Byte offsets, end exclusive (see {@link Finding}). */
  start(i: number): number;
  end(i: number): number;
  fingerprint(i: number): string;
  /** Finding `i` as a new object. */
  finding(i: number): Finding;
}

/** Where a compact list's proxy keeps its view (read through the proxy's `get`). */
const VIEW = Symbol('findings view');

interface Chunk {
  /** Index into the store's (detector, category) table. */
  readonly kind: Uint16Array;
  readonly line: Uint32Array;
  readonly column: Uint32Array;
  /** Float64: offsets in a file past 4 GiB stay exact (integers up to 2^53). */
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly fp: Uint8Array;
}

function newChunk(): Chunk {
  return {
    kind: new Uint16Array(CHUNK),
    line: new Uint32Array(CHUNK),
    column: new Uint32Array(CHUNK),
    start: new Float64Array(CHUNK),
    end: new Float64Array(CHUNK),
    fp: new Uint8Array(CHUNK * FP_BYTES),
  };
}

/** Value of a lower-case hex digit (checked by {@link FINGERPRINT} first). */
const nibble = (c: number): number => (c <= 57 ? c - 48 : c - 87);

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const isOffset = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * The findings of one run, 32 bytes each, in chunks of 65 536 (2 MiB) allocated as needed. Lists
 * from {@link FindingStore.add} keep the store alive; nothing is ever removed from it.
 */
export class FindingStore {
  private readonly chunks: Chunk[] = [];
  private size = 0;
  private readonly kinds: Array<{ readonly detector: string; readonly category: Category }> = [];
  /** detector → category → index into `kinds`. */
  private readonly kindIndex = new Map<string, Map<string, number>>();

  /** Findings stored so far. */
  get count(): number {
    return this.size;
  }

  /**
   * Stores `findings` and returns a compact read-only list equal to them. Returns `findings`
   * itself when it is empty or a finding does not fit the compact form (a fingerprint other than
   * 12 lower-case hex digits, a line past 2^32…): exactness over compactness.
   */
  add(findings: readonly Finding[]): readonly Finding[] {
    const n = findings.length;
    if (n === 0 || !findings.every((f) => this.fits(f)) || !this.roomForKinds(findings)) return findings;
    const offset = this.size;
    for (let i = 0; i < n; i++) {
      const f = findings[i]!;
      const g = offset + i;
      const c = (this.chunks[g >>> CHUNK_BITS] ??= newChunk());
      const s = g & MASK;
      c.kind[s] = this.kindOf(f.detector, f.category);
      c.line[s] = f.line;
      c.column[s] = f.column;
      c.start[s] = f.start;
      c.end[s] = f.end;
      const at = s * FP_BYTES;
      const fp = f.fingerprint;
      for (let k = 0; k < FP_BYTES; k++) c.fp[at + k] = (nibble(fp.charCodeAt(2 * k)) << 4) | nibble(fp.charCodeAt(2 * k + 1));
    }
    this.size += n;
    return listProxy(new CompactView(this, offset, n));
  }

  private fits(f: Finding): boolean {
    return (
      typeof f.detector === 'string' &&
      typeof f.category === 'string' &&
      isUint32(f.line) &&
      isUint32(f.column) &&
      isOffset(f.start) &&
      isOffset(f.end) &&
      typeof f.fingerprint === 'string' &&
      FINGERPRINT.test(f.fingerprint)
    );
  }

  /** Every new (detector, category) pair of `findings` still gets a Uint16 index (never near the limit in practice). */
  private roomForKinds(findings: readonly Finding[]): boolean {
    let fresh: Set<string> | undefined;
    for (const f of findings) if (this.kindIndex.get(f.detector)?.has(f.category) !== true) (fresh ??= new Set()).add(`${f.detector}\0${f.category}`);
    return this.kinds.length + (fresh?.size ?? 0) <= 0x10000;
  }

  private kindOf(detector: string, category: Category): number {
    let byCategory = this.kindIndex.get(detector);
    if (!byCategory) this.kindIndex.set(detector, (byCategory = new Map()));
    let k = byCategory.get(category);
    if (k === undefined) {
      k = this.kinds.push({ detector, category }) - 1;
      byCategory.set(category, k);
    }
    return k;
  }

  /** @internal */
  chunkOf(g: number): Chunk {
    return this.chunks[g >>> CHUNK_BITS]!;
  }

  /** @internal */
  kindAt(g: number): { readonly detector: string; readonly category: Category } {
    return this.kinds[this.chunkOf(g).kind[g & MASK]!]!;
  }
}

/** One file's slice of a store; also the handler of the proxy that stands for it as an array. */
class CompactView implements FindingColumns, ProxyHandler<Finding[]> {
  constructor(
    private readonly store: FindingStore,
    private readonly offset: number,
    readonly length: number,
  ) {}

  detector(i: number): string {
    return this.store.kindAt(this.offset + i).detector;
  }
  category(i: number): Category {
    return this.store.kindAt(this.offset + i).category;
  }
  line(i: number): number {
    const g = this.offset + i;
    return this.store.chunkOf(g).line[g & MASK]!;
  }
  column(i: number): number {
    const g = this.offset + i;
    return this.store.chunkOf(g).column[g & MASK]!;
  }
  start(i: number): number {
    const g = this.offset + i;
    return this.store.chunkOf(g).start[g & MASK]!;
  }
  end(i: number): number {
    const g = this.offset + i;
    return this.store.chunkOf(g).end[g & MASK]!;
  }
  fingerprint(i: number): string {
    const g = this.offset + i;
    const fp = this.store.chunkOf(g).fp;
    const at = (g & MASK) * FP_BYTES;
    return HEX[fp[at]!]! + HEX[fp[at + 1]!]! + HEX[fp[at + 2]!]! + HEX[fp[at + 3]!]! + HEX[fp[at + 4]!]! + HEX[fp[at + 5]!]!;
  }
  finding(i: number): Finding {
    const g = this.offset + i;
    const c = this.store.chunkOf(g);
    const s = g & MASK;
    const kind = this.store.kindAt(g);
    // The key order of the objects the redactor makes: JSON output depends on it.
    return { detector: kind.detector, category: kind.category, line: c.line[s]!, column: c.column[s]!, start: c.start[s]!, end: c.end[s]!, fingerprint: this.fingerprint(i) };
  }

  /** Every finding as a plain array (what `JSON.stringify` writes). */
  toArray(): Finding[] {
    const out = new Array<Finding>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.finding(i);
    return out;
  }

  // Proxy traps: the target is an empty array, so `Array.isArray` holds and Array.prototype
  // methods apply; indexes and `length` come from the view.

  get(target: Finding[], key: string | symbol, receiver: unknown): unknown {
    if (typeof key === 'string') {
      const i = indexKey(key);
      if (i >= 0) return i < this.length ? this.finding(i) : undefined;
      if (key === 'length') return this.length;
      if (key === 'toJSON') return listToJson;
    } else if (key === VIEW) return this;
    else if (key === Symbol.iterator) return listIterator;
    return Reflect.get(target, key, receiver);
  }
  has(target: Finding[], key: string | symbol): boolean {
    if (typeof key === 'string') {
      const i = indexKey(key);
      if (i >= 0) return i < this.length;
    }
    return Reflect.has(target, key);
  }
  ownKeys(): ArrayLike<string | symbol> {
    const keys: string[] = [];
    for (let i = 0; i < this.length; i++) keys.push(String(i));
    keys.push('length');
    return keys;
  }
  getOwnPropertyDescriptor(target: Finding[], key: string | symbol): PropertyDescriptor | undefined {
    if (typeof key === 'string') {
      const i = indexKey(key);
      if (i >= 0) return i < this.length ? { value: this.finding(i), writable: false, enumerable: true, configurable: true } : undefined;
      // Must match the target's own `length` in kind (non-configurable, writable): proxy invariant.
      if (key === 'length') return { value: this.length, writable: true, enumerable: false, configurable: false };
    }
    return Reflect.getOwnPropertyDescriptor(target, key);
  }
  // Read-only, like the `readonly Finding[]` it stands for.
  set(): boolean {
    return false;
  }
  defineProperty(): boolean {
    return false;
  }
  deleteProperty(): boolean {
    return false;
  }
  setPrototypeOf(): boolean {
    return false;
  }
  preventExtensions(): boolean {
    return false;
  }
}

/** The array index a property key names, or -1. */
function indexKey(key: string): number {
  const c = key.charCodeAt(0);
  if (!(c >= 48 && c <= 57)) return -1;
  const i = Number(key);
  return Number.isSafeInteger(i) && String(i) === key ? i : -1;
}

/**
 * The one target of every list proxy: the traps never write to it (set, define, delete are
 * refused), so lists can share it. One empty array per file was 3 MB on 100 000 files.
 */
const TARGET: Finding[] = [];

function listProxy(view: CompactView): readonly Finding[] {
  return new Proxy<Finding[]>(TARGET, view);
}

function viewOf(list: unknown): CompactView | undefined {
  return (list as { [VIEW]?: CompactView })[VIEW];
}

function listToJson(this: readonly Finding[]): Finding[] {
  return viewOf(this)!.toArray();
}

function* listIterator(this: readonly Finding[]): Generator<Finding> {
  const v = viewOf(this)!;
  for (let i = 0; i < v.length; i++) yield v.finding(i);
}

/** {@link FindingColumns} over a plain array. */
class ArrayColumns implements FindingColumns {
  constructor(private readonly xs: readonly Finding[]) {}
  get length(): number {
    return this.xs.length;
  }
  detector(i: number): string {
    return this.xs[i]!.detector;
  }
  category(i: number): Category {
    return this.xs[i]!.category;
  }
  line(i: number): number {
    return this.xs[i]!.line;
  }
  column(i: number): number {
    return this.xs[i]!.column;
  }
  start(i: number): number {
    return this.xs[i]!.start;
  }
  end(i: number): number {
    return this.xs[i]!.end;
  }
  fingerprint(i: number): string {
    return this.xs[i]!.fingerprint;
  }
  finding(i: number): Finding {
    return this.xs[i]!;
  }
}

/** Column access to any findings list: a compact one's own view, or an adapter over an array. */
export function findingColumns(list: readonly Finding[]): FindingColumns {
  return viewOf(list) ?? new ArrayColumns(list);
}

/** True when `list` came from {@link FindingStore.add} (compact). */
export function isCompact(list: readonly Finding[]): boolean {
  return viewOf(list) !== undefined;
}

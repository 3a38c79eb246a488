/**
 * Reports written piece by piece, so that a report on a million findings never exists as one
 * object tree (and, when the caller writes the pieces as they come, never as one string).
 *
 * {@link prettyJson} produces exactly the text of `JSON.stringify(value, null, 2)`, except that an
 * array given as a {@link LazyArray} is read item by item from its iterable.
 */

/** An array serialized from an iterable, one item at a time. */
export class LazyArray {
  /**
   * @param plainItems the items hold no LazyArray (they are not checked one by one then), except
   *   items given as {@link LazyObject}.
   * @param weight what an item counts for in a batch of {@link BATCH} (default 1): items of very
   *   different sizes (a file record with 3 or 3 000 findings) are batched by it.
   */
  constructor(
    readonly items: Iterable<unknown>,
    readonly plainItems = false,
    readonly weight?: (item: unknown) => number,
  ) {}
}

/**
 * An object that holds a LazyArray, marked as such: an item of a plain-items LazyArray given as
 * one is streamed key by key instead of batched, without looking through every item's values.
 */
export class LazyObject {
  constructor(readonly value: Readonly<Record<string, unknown>>) {}
}

const PAD = '  ';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof LazyArray) && !(v instanceof LazyObject);
}

/** True when `v` holds a LazyArray (then it is written by hand rather than by JSON.stringify). */
function holdsLazy(v: unknown): boolean {
  if (v instanceof LazyArray || v instanceof LazyObject) return true;
  if (Array.isArray(v)) return v.some(holdsLazy);
  if (isPlainObject(v)) return Object.values(v).some(holdsLazy);
  return false;
}

/** `JSON.stringify(v, null, 2)` for a value nested `depth` levels deep. */
function plain(v: unknown, depth: number): string {
  const s = JSON.stringify(v, null, 2) ?? 'null';
  return depth === 0 || !s.includes('\n') ? s : s.replace(/\n/g, `\n${PAD.repeat(depth)}`);
}

/** The pieces of `JSON.stringify(value, null, 2)` (no trailing newline). */
export function* prettyJson(value: unknown, depth = 0): Generator<string> {
  if (value instanceof LazyObject) value = value.value;
  if (!holdsLazy(value)) {
    yield plain(value, depth);
    return;
  }
  const inner = PAD.repeat(depth + 1);
  if (value instanceof LazyArray) {
    yield* lazyItems(value, depth);
    return;
  }
  if (Array.isArray(value)) {
    let first = true;
    for (const item of value) {
      yield `${first ? '[' : ','}\n${inner}`;
      // As JSON.stringify does in arrays: undefined and functions become null.
      yield* prettyJson(item === undefined || typeof item === 'function' ? null : item, depth + 1);
      first = false;
    }
    yield first ? '[]' : `\n${PAD.repeat(depth)}]`;
    return;
  }
  const obj = value as Record<string, unknown>;
  let first = true;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(key)}: `;
    yield* prettyJson(v, depth + 1);
    first = false;
  }
  yield first ? '{}' : `\n${PAD.repeat(depth)}}`;
}

/**
 * Items (or weight, see {@link LazyArray}) of a LazyArray serialized together: JSON.stringify on
 * a batch is far faster than per item, and a batch's text is the largest string built at once.
 */
export const BATCH = 512;

/**
 * The array at nesting `depth`: its items are serialized a batch at a time by JSON.stringify,
 * nested in `depth` outer arrays so that they come out at their final indentation, and cut out
 * of that text. An item that holds a LazyArray itself is streamed on its own.
 */
function* lazyItems(array: LazyArray, depth: number): Generator<string> {
  let prefix = '';
  let suffix = '';
  for (let k = 0; k <= depth; k++) {
    prefix += `${PAD.repeat(k)}[\n`;
    suffix = `\n${PAD.repeat(k)}]${suffix}`;
  }
  let first = true;
  let batch: unknown[] = [];
  let weight = 0;
  const flush = (): string => {
    let wrapped: unknown = batch;
    for (let k = 0; k < depth; k++) wrapped = [wrapped];
    const text = JSON.stringify(wrapped, null, 2);
    const out = `${first ? '[' : ','}\n${text.slice(prefix.length, text.length - suffix.length)}`;
    first = false;
    batch = [];
    weight = 0;
    return out;
  };
  for (const item of array.items) {
    if (item instanceof LazyObject || (!array.plainItems && holdsLazy(item))) {
      if (batch.length > 0) yield flush();
      yield `${first ? '[' : ','}\n${PAD.repeat(depth + 1)}`;
      yield* prettyJson(item, depth + 1);
      first = false;
      continue;
    }
    batch.push(item);
    weight += array.weight?.(item) ?? 1;
    if (batch.length >= BATCH || weight >= BATCH) yield flush();
  }
  if (batch.length > 0) yield flush();
  yield first ? '[]' : `\n${PAD.repeat(depth)}]`;
}

/** Joins small pieces into chunks of about `size` characters (fewer, larger writes). */
export function* chunked(pieces: Iterable<string>, size = 64 * 1024): Generator<string> {
  let parts: string[] = [];
  let length = 0;
  for (const p of pieces) {
    parts.push(p);
    length += p.length;
    if (length >= size) {
      yield parts.join('');
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield parts.join('');
}

/**
 * `${JSON.stringify(value, null, 2)}\n` in pieces of about 64 KiB (its LazyArrays read as they
 * are written). For the manifest: `prettyJsonChunks({ ...manifest, files: new LazyArray(manifest.files, true) })`.
 */
export function prettyJsonChunks(value: unknown): Generator<string> {
  return chunked(
    (function* () {
      yield* prettyJson(value);
      yield '\n';
    })(),
  );
}

/** The whole text of a chunked report. */
export function joinChunks(chunks: Iterable<string>): string {
  return [...chunks].join('');
}

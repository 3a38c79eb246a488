/**
 * Where each scanned top-level file is on disk, by manifest name: `ScanResult.sources`.
 */
import path from 'node:path';

/**
 * A read-only map from manifest name to absolute path that stores no path it can rebuild. Nearly
 * every input is `base/name`, so only the others are kept as strings; the names are the ones the
 * manifest already holds. As a `Map` of 100 000 entries it held ~16 MB (a path string per file
 * and the hash table) until the report was written.
 *
 * Like `new Map(pairs)`, a name given twice maps to its last path, at its first position.
 */
export class SourcePaths implements ReadonlyMap<string, string> {
  /** Distinct names, in first-seen order. */
  private readonly names: string[] = [];
  /** Indexes into `names`, ordered by name (UTF-16 code units), for binary search. */
  private readonly order: Uint32Array;
  /** Paths that are not `path.join(base, name)`, by name. */
  private readonly other = new Map<string, string>();

  /**
   * @param base the common input root (absolute)
   * @param names manifest name of each entry
   * @param absolute absolute path of entry `i`
   */
  constructor(
    private readonly base: string,
    names: readonly string[],
    absolute: (i: number) => string,
  ) {
    // The usual case: names arrive sorted and distinct, and the index is the identity.
    let sorted = true;
    let seen: Set<string> | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const last = this.names[this.names.length - 1];
      if (last === undefined || (sorted && name > last)) this.names.push(name);
      else if (!(sorted && name === last)) {
        sorted = false;
        seen ??= new Set(this.names);
        if (!seen.has(name)) {
          seen.add(name);
          this.names.push(name);
        }
      }
      const abs = absolute(i);
      if (abs === path.join(base, name)) this.other.delete(name);
      else this.other.set(name, abs);
    }
    this.order = Uint32Array.from(this.names.keys());
    if (!sorted) this.order.sort((a, b) => (this.names[a]! < this.names[b]! ? -1 : this.names[a]! > this.names[b]! ? 1 : 0));
  }

  private indexOf(name: string): number {
    let lo = 0;
    let hi = this.order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.names[this.order[mid]!]!;
      if (at === name) return this.order[mid]!;
      if (at < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  get size(): number {
    return this.names.length;
  }
  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }
  get(name: string): string | undefined {
    if (this.indexOf(name) < 0) return undefined;
    return this.other.get(name) ?? path.join(this.base, name);
  }
  *entries(): MapIterator<[string, string]> {
    for (const name of this.names) yield [name, this.get(name)!];
  }
  *keys(): MapIterator<string> {
    yield* this.names;
  }
  *values(): MapIterator<string> {
    for (const name of this.names) yield this.get(name)!;
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

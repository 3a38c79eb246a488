/**
 * Keyed fingerprints of sensitive values.
 *
 * HMAC-SHA256 under a key that is random per run unless the user supplies one (`--key-file`).
 * Without the key, a fingerprint cannot be reversed by hashing every phone number; with the same
 * key, the same value gets the same fingerprint in every file and every run. The key is never
 * written to any output.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ShortHmacSha256 } from './hmac-sha256.js';
import { TOKEN_FINGERPRINT_HEX } from './redact/token.js';

/** Minimum key length in bytes for a user-supplied key. */
export const MIN_KEY_BYTES = 16;

/** Values longer than this (bytes) are not cached. */
const MAX_CACHED_BYTES = 256;
/** Entries kept before the cache is dropped and refilled. */
const MAX_CACHED = 16_384;
/** Lookups between looks at the cache's hit rate. */
const PROBE_LOOKUPS = 4096;
/**
 * Fewer hits than this in {@link PROBE_LOOKUPS} lookups and the cache costs more than it saves: a
 * lookup (a string of the value, a Map probe) is ~0.5 µs against ~1.8 µs for a short HMAC.
 */
const MIN_PROBE_HITS = PROBE_LOOKUPS / 4;
/** Values fingerprinted without the cache after a probe found it not paying, before it is tried again. */
const BYPASS_LOOKUPS = 16 * PROBE_LOOKUPS;

/** Computes fingerprints under one key. */
export class Fingerprinter {
  private readonly key: Buffer;
  /** The same HMAC for values of up to 55 bytes, without a native object per value. */
  private readonly short: ShortHmacSha256;
  /**
   * Recent values → fingerprints. Logs repeat the same IPs and IDs thousands of times; an HMAC
   * costs ~1–2 µs (short values) to ~4.5 µs. Bounded, so memory does not grow with the input.
   */
  private cache = new Map<string, string>();
  /** Lookups and hits since the last probe; values left to fingerprint without the cache. */
  private lookups = 0;
  private hits = 0;
  private bypass = 0;

  /** @param key secret key bytes; when omitted a random 32-byte key is drawn. */
  constructor(key?: Buffer) {
    this.key = key ? Buffer.from(key) : randomBytes(32);
    this.short = new ShortHmacSha256(this.key);
  }

  /** Lower-case hex fingerprint ({@link TOKEN_FINGERPRINT_HEX} digits) of `value`. */
  of(value: Buffer): string {
    if (value.length > MAX_CACHED_BYTES) return this.compute(value);
    // Mostly distinct values (the bench corpus's random IPs: 1 % hits) skip the cache for a while.
    if (this.bypass > 0) {
      this.bypass--;
      return this.compute(value);
    }
    if (++this.lookups === PROBE_LOOKUPS) {
      if (this.hits < MIN_PROBE_HITS) this.bypass = BYPASS_LOOKUPS;
      this.lookups = this.hits = 0;
    }
    const k = value.toString('latin1'); // 1:1 bytes → code units: distinct values, distinct keys
    let fp = this.cache.get(k);
    if (fp === undefined) {
      fp = this.compute(value);
      if (this.cache.size >= MAX_CACHED) this.cache = new Map();
      this.cache.set(k, fp);
    } else this.hits++;
    return fp;
  }

  private compute(value: Buffer): string {
    return this.short.hexPrefix(value, TOKEN_FINGERPRINT_HEX) ?? createHmac('sha256', this.key).update(value).digest('hex').slice(0, TOKEN_FINGERPRINT_HEX);
  }
}

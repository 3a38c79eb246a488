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

  /** @param key secret key bytes; when omitted a random 32-byte key is drawn. */
  constructor(key?: Buffer) {
    this.key = key ? Buffer.from(key) : randomBytes(32);
    this.short = new ShortHmacSha256(this.key);
  }

  /** Lower-case hex fingerprint ({@link TOKEN_FINGERPRINT_HEX} digits) of `value`. */
  of(value: Buffer): string {
    if (value.length > MAX_CACHED_BYTES) return this.compute(value);
    const k = value.toString('latin1'); // 1:1 bytes → code units: distinct values, distinct keys
    let fp = this.cache.get(k);
    if (fp === undefined) {
      fp = this.compute(value);
      if (this.cache.size >= MAX_CACHED) this.cache = new Map();
      this.cache.set(k, fp);
    }
    return fp;
  }

  private compute(value: Buffer): string {
    return this.short.hexPrefix(value, TOKEN_FINGERPRINT_HEX) ?? createHmac('sha256', this.key).update(value).digest('hex').slice(0, TOKEN_FINGERPRINT_HEX);
  }
}

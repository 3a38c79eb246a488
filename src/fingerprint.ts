/**
 * Keyed fingerprints of sensitive values.
 *
 * HMAC-SHA256 under a key that is random per run unless the user supplies one (`--key-file`).
 * Without the key, a fingerprint cannot be reversed by hashing every phone number; with the same
 * key, the same value gets the same fingerprint in every file and every run. The key is never
 * written to any output.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { TOKEN_FINGERPRINT_HEX } from './redact/token.js';

/** Minimum key length in bytes for a user-supplied key. */
export const MIN_KEY_BYTES = 16;

/** Computes fingerprints under one key. */
export class Fingerprinter {
  private readonly key: Buffer;

  /** @param key secret key bytes; when omitted a random 32-byte key is drawn. */
  constructor(key?: Buffer) {
    this.key = key ? Buffer.from(key) : randomBytes(32);
  }

  /** Lower-case hex fingerprint ({@link TOKEN_FINGERPRINT_HEX} digits) of `value`. */
  of(value: Buffer): string {
    return createHmac('sha256', this.key).update(value).digest('hex').slice(0, TOKEN_FINGERPRINT_HEX);
  }
}

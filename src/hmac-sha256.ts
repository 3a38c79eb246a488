/**
 * HMAC-SHA256 of short values (RFC 2104, FIPS 180-4) without a native call per value.
 *
 * Every redacted value is fingerprinted, and dense logs have one value every ~200 bytes (482 k
 * on the 100 MB bench corpus, nearly all distinct IPs, so the cache in fingerprint.ts misses).
 * `crypto.createHmac` costs ~4.5 µs per value, most of it building the native object; node's
 * `Hash#copy` of precomputed pad states is slower still, and @noble/hashes measured the same as
 * node here. With the key's two pad blocks compressed once, a value of up to 55 bytes is two
 * compressions: ~1.8 µs. Longer values return undefined and the caller uses node:crypto.
 * test/fingerprint.test.ts checks every length against node:crypto.
 */
import { createHash } from 'node:crypto';

/** Longest value handled here, in bytes: value + 0x80 + 64-bit length fit one 64-byte block. */
export const SHORT_HMAC_MAX_BYTES = 55;

// prettier-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Message schedule; W[0..15] hold the block (big-endian words) before {@link compress}. */
const W = new Int32Array(64);

/** One SHA-256 compression of the block in W[0..15] from state `st` into `out` (may be `st`). */
function compress(st: Int32Array, out: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!, e = st[4]!, f = st[5]!, g = st[6]!, h = st[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = (st[0]! + a) | 0;
  out[1] = (st[1]! + b) | 0;
  out[2] = (st[2]! + c) | 0;
  out[3] = (st[3]! + d) | 0;
  out[4] = (st[4]! + e) | 0;
  out[5] = (st[5]! + f) | 0;
  out[6] = (st[6]! + g) | 0;
  out[7] = (st[7]! + h) | 0;
}

/** HMAC-SHA256 under one key, for values of at most {@link SHORT_HMAC_MAX_BYTES} bytes. */
export class ShortHmacSha256 {
  /** States after the inner (key ⊕ 0x36) and outer (key ⊕ 0x5c) pad blocks. */
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly tmp = new Int32Array(8);

  constructor(key: Buffer) {
    const k = key.length > 64 ? createHash('sha256').update(key).digest() : key;
    for (const [pad, state] of [[0x36, this.inner], [0x5c, this.outer]] as const) {
      const block = Buffer.alloc(64, pad);
      for (let i = 0; i < k.length; i++) block[i]! ^= k[i]!;
      for (let i = 0; i < 16; i++) W[i] = block.readInt32BE(4 * i);
      compress(IV, state);
    }
  }

  /**
   * The first `hexDigits` (even, ≤ 64) lower-case hex digits of HMAC-SHA256(key, value), or
   * undefined when `value` is longer than {@link SHORT_HMAC_MAX_BYTES} bytes.
   */
  hexPrefix(value: Uint8Array, hexDigits: number): string | undefined {
    const n = value.length;
    if (n > SHORT_HMAC_MAX_BYTES) return undefined;
    // Inner hash: pad block (done) + value, 0x80, zeros, bit length of (64 + n) bytes.
    W.fill(0, 0, 16);
    for (let i = 0; i < n; i++) W[i >> 2]! |= value[i]! << (24 - 8 * (i & 3));
    W[n >> 2]! |= 0x80 << (24 - 8 * (n & 3));
    W[15] = (64 + n) * 8;
    compress(this.inner, this.tmp);
    // Outer hash: pad block (done) + the 32-byte inner digest, 0x80, zeros, bit length of 96 bytes.
    for (let i = 0; i < 8; i++) W[i] = this.tmp[i]!;
    W[8] = 0x80000000;
    W.fill(0, 9, 15);
    W[15] = (64 + 32) * 8;
    compress(this.outer, this.tmp);
    let hex = '';
    for (let i = 0; i < hexDigits >> 1; i++) hex += HEX[(this.tmp[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff];
    return hex;
  }
}

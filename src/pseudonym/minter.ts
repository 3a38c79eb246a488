/**
 * Replacement text for one incident: typed tokens (`[REDACTED:<detector>:<fingerprint>]`, the
 * fingerprint keyed by the incident key) or, with `shape` pseudonyms, values that keep their
 * shape so log parsers still work:
 *
 *   IPv4 address → an address in 240.0.0.0/4 (reserved, never routed), from a keyed HMAC
 *   e-mail       → `user-<fingerprint>@example.invalid` (RFC 2606 reserved TLD)
 *
 * Secrets always get typed tokens. Every replacement is a pure function of (key, value, demoted
 * set), so output does not depend on which file finishes first. The minter records
 * replacement → value in the incident's map (kept encrypted in the state folder, never in a
 * bundle). Two values whose IPv4 pseudonyms collide are both *demoted* to typed tokens: the
 * collision is noticed after the run (it depends on the whole set of values, not on order) and
 * the incident is redone once with the demoted set, which is then kept in the state so reruns
 * give the same bytes.
 */
import { createHmac } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Category } from '../detect/detector.js';
import type { TokenMinter } from '../redact/redactor.js';
import { formatToken } from '../redact/token.js';
import type { IncidentState } from './state.js';

/** `tokens`: every value gets a typed token; `shape`: IPv4 and e-mail get shape-preserving pseudonyms. */
export type PseudonymMode = 'tokens' | 'shape';

/** Size of the IPv4 pseudonym space: 240.0.0.0/4 minus 255.255.255.255 (2^28 − 1 addresses). */
const IPV4_SPACE = 2 ** 28 - 1;
const IPV4_BASE = 240 * 2 ** 24;

/** Detector ids that get shape-preserving pseudonyms in `shape` mode. */
export const SHAPE_DETECTORS: ReadonlySet<string> = new Set(['ipv4-address', 'email-address']);

const PSEUDO_EMAIL = /^user-[0-9a-f]{12}@example\.invalid$/;

/** True for an IPv4 address in 240.0.0.0/4 (the pseudonym range). */
export function isPseudonymIpv4(text: string): boolean {
  return isIPv4(text) && Number(text.split('.')[0]) >= 240;
}

/**
 * True when `value` has the exact shape of a pseudonym (`verify` does not report these in bundles
 * whose manifest says `pseudonyms: "shape"`). Secrets never are.
 */
export function isPseudonymShape(category: Category, value: Buffer | string): boolean {
  if (category === 'secret') return false;
  const text = typeof value === 'string' ? value : value.toString('utf8');
  return isPseudonymIpv4(text) || PSEUDO_EMAIL.test(text);
}

/** The IPv4 pseudonym of `value` under `key` (in 240.0.0.0/4). @param space test hook: size of the space */
export function ipv4Pseudonym(key: Buffer, value: Buffer, space = IPV4_SPACE): string {
  const h = createHmac('sha256', key).update('aliscrub ipv4 pseudonym\0').update(value).digest();
  const n = IPV4_BASE + (h.readUInt32BE(0) % space);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Mints replacements for one incident and records them in its map. */
export class IncidentMinter {
  /** Replacement → fingerprint of the value first seen with it (for collision detection). */
  private readonly owners = new Map<string, string>();
  /** Fingerprints involved in a pseudonym collision during this run. */
  readonly collisions = new Set<string>();

  /**
   * @param state the incident's key and map
   * @param mode `tokens` or `shape`
   * @param ipv4Space test hook: size of the IPv4 pseudonym space (default 2^28 − 1)
   */
  constructor(
    private readonly state: IncidentState,
    private readonly mode: PseudonymMode,
    private readonly ipv4Space?: number,
  ) {}

  /** The hook for RunOptions.tokenMinter. */
  readonly mint: TokenMinter = (detector, value, fingerprint) => {
    let text: string | undefined;
    if (this.mode === 'shape' && SHAPE_DETECTORS.has(detector.id) && !this.state.demoted.has(fingerprint)) {
      const v = value.toString('utf8');
      if (detector.id === 'ipv4-address' && isIPv4(v)) text = ipv4Pseudonym(this.state.key, value, this.ipv4Space);
      else if (detector.id === 'email-address' && v.includes('@')) text = `user-${fingerprint}@example.invalid`;
      if (text !== undefined) {
        const owner = this.owners.get(text);
        if (owner !== undefined && owner !== fingerprint) {
          this.collisions.add(owner);
          this.collisions.add(fingerprint);
        } else if (owner === undefined) {
          // Taken by another value in an earlier run (kept in the map): that bundle may be out already.
          const earlier = this.state.entries.get(text);
          if (earlier !== undefined && earlier !== Buffer.from(value).toString('base64')) this.collisions.add(fingerprint);
        }
      }
    }
    text ??= formatToken(detector.id, fingerprint);
    if (!this.owners.has(text)) {
      this.owners.set(text, fingerprint);
      if (!this.state.entries.has(text)) this.state.entries.set(text, Buffer.from(value).toString('base64'));
    }
    return text;
  };
}

/** What {@link unmaskText} did. */
export interface UnmaskResult {
  /** The text with every known token and pseudonym replaced by its original value. */
  readonly text: string;
  /** Replacements made. */
  readonly replaced: number;
  /** Token-shaped strings not in the map (another incident's, or made up): left as they are. */
  readonly unknown: number;
}

const UNMASK = /\[REDACTED:[a-z0-9-]{1,64}:[0-9a-f]{12}\]|user-[0-9a-f]{12}@example\.invalid|(?<![0-9.])(?:24[0-9]|25[0-5])\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])/g;

/**
 * Replaces tokens and pseudonyms in `text` (a support reply) with the original values from an
 * incident's map. Anything not in the map is left as it is and counted.
 * @param entries replacement → base64 of the original value (IncidentState.entries)
 */
export function unmaskText(text: string, entries: ReadonlyMap<string, string>): UnmaskResult {
  let replaced = 0;
  let unknown = 0;
  const out = text.replace(UNMASK, (m) => {
    const v = entries.get(m);
    if (v === undefined) {
      if (m.startsWith('[')) unknown++;
      return m;
    }
    replaced++;
    return Buffer.from(v, 'base64').toString('utf8');
  });
  return { text: out, replaced, unknown };
}

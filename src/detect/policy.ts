/**
 * Redaction policy: which findings to leave visible. By default every secret and PII value is
 * redacted and identifiers (IPs, account IDs) get consistent tokens. Teams may keep identifiers
 * support needs to see: private addresses (not reachable from outside anyway), their own account
 * ID (Alibaba support already knows it from the ticket), or a whole category.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Category, Detector } from './detector.js';

/** What to leave unredacted. Secrets can never be kept. */
export interface KeepPolicy {
  /** Leave these categories visible (only `pii` and `identifier` are accepted). */
  readonly categories?: readonly Exclude<Category, 'secret'>[];
  /** Leave private, loopback, link-local and shared (CGNAT) IPv4/IPv6 addresses visible. */
  readonly privateIps?: boolean;
  /** Leave these 16-digit account IDs visible (e.g. your own). */
  readonly accountIds?: readonly string[];
}

/** True for RFC 1918, loopback, link-local, CGNAT (100.64/10) IPv4 and ::1, fe80::/10, fc00::/7 IPv6. */
export function isPrivateIp(text: string): boolean {
  if (isIPv4(text)) {
    const [a, b] = text.split('.').map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIPv6(text)) {
    const t = text.toLowerCase();
    return t === '::1' || /^fe[89ab]/.test(t) || /^f[cd]/.test(t);
  }
  return false;
}

const IP_DETECTOR = /ip(v[46])?-address/;

/** Builds the predicate the scanner uses: true = leave this value visible. */
export function keepPredicate(policy: KeepPolicy | undefined): ((d: Detector, value: Buffer) => boolean) | undefined {
  if (!policy) return undefined;
  const categories = new Set<Category>(policy.categories ?? []);
  const accounts = new Set(policy.accountIds ?? []);
  if (categories.size === 0 && !policy.privateIps && accounts.size === 0) return undefined;
  return (d, value) => {
    if (d.category === 'secret') return false;
    if (categories.has(d.category)) return true;
    if (d.category !== 'identifier') return false;
    // Per hit, so the value is decoded only when a check applies to this detector.
    if (policy.privateIps && IP_DETECTOR.test(d.id)) return isPrivateIp(value.toString('utf8'));
    if (accounts.size > 0 && d.id.includes('account-id')) return accounts.has(value.toString('utf8'));
    return false;
  };
}

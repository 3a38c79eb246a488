/**
 * A parsed document reduced to what the key rules need: maps with string keys, sequences, and
 * scalars with the source range that would be redacted. JSON and YAML both convert to it, so the
 * rules are written once. Offsets are UTF-16 code-unit indices into the parsed text (what the
 * parsers report); the stage converts them to byte offsets.
 */
import type { SecretKeys } from './keys.js';

export type SNode = SMap | SSeq | SScalar;

export interface SMap {
  readonly kind: 'map';
  readonly entries: ReadonlyArray<{ readonly key: string; readonly value: SNode }>;
}

export interface SSeq {
  readonly kind: 'seq';
  readonly items: readonly SNode[];
}

export interface SScalar {
  readonly kind: 'scalar';
  /** The decoded value when it is a string; undefined for numbers, booleans and null. */
  readonly text: string | undefined;
  /** False for booleans and null: nothing secret to remove. */
  readonly redactable: boolean;
  /** Range to replace, [start, end) in UTF-16 units: inside the quotes for a quoted string. */
  readonly start: number;
  readonly end: number;
  /** The range is a bare scalar (number, plain YAML word): the token must be quoted to stay a string. */
  readonly bare: boolean;
}

/** A range of the parsed text to redact, in UTF-16 units. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
  readonly quote?: boolean;
}

/**
 * Collects the ranges of values under secret-like keys.
 *
 * - `{password: x}`: x is redacted (a sequence under the key: each element; a map: its own keys decide,
 *   so `Credentials: {AccessKeySecret, Expiration}` keeps the expiry time).
 * - name/value pairs `{name: "Authorization", value: x}` (HAR headers, query strings, form params,
 *   Kubernetes env): x is redacted when the name is secret-like.
 */
export function keyRuleSpans(root: SNode, keys: SecretKeys, out: TextSpan[] = []): TextSpan[] {
  walkRules(root, keys, out);
  return out;
}

// Module-level functions, not closures made per call: V8 holds a closure's optimised code only
// weakly once the closure is gone, so each full GC threw it away and the next file compiled it
// again (DESIGN.md, "Closures made per call").

/** Applies the key rules under `n` (a map's own keys decide what is redacted). */
function walkRules(n: SNode, keys: SecretKeys, out: TextSpan[]): void {
  if (n.kind === 'seq') {
    for (const item of n.items) walkRules(item, keys, out);
    return;
  }
  if (n.kind !== 'map') return;
  let pairSecret = false;
  for (const e of n.entries) {
    if (keys.isPairName(e.key) && e.value.kind === 'scalar' && e.value.text !== undefined && keys.isSecret(e.value.text)) {
      pairSecret = true;
      break;
    }
  }
  for (const e of n.entries) {
    if (keys.isSecret(e.key) || (pairSecret && keys.isPairValue(e.key))) redactValue(e.value, keys, out);
    else walkRules(e.value, keys, out);
  }
}

/** `n` is the value of a secret key: its scalars are redacted, its maps follow their own keys. */
function redactValue(n: SNode, keys: SecretKeys, out: TextSpan[]): void {
  if (n.kind === 'scalar') {
    if (n.redactable && n.end > n.start) out.push(n.bare ? { start: n.start, end: n.end, quote: true } : { start: n.start, end: n.end });
  } else if (n.kind === 'seq') for (const item of n.items) redactValue(item, keys, out);
  else walkRules(n, keys, out);
}

/** Looks up a key in a map node (first match). */
export function get(n: SNode | undefined, key: string): SNode | undefined {
  return n?.kind === 'map' ? n.entries.find((e) => e.key === key)?.value : undefined;
}

/** The string value of a scalar node, if it is one. */
export function str(n: SNode | undefined): string | undefined {
  return n?.kind === 'scalar' ? n.text : undefined;
}

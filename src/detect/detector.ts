/**
 * The compiled form of a detector: what the scanner runs. Plain data plus a compiled regex;
 * built only by load.ts.
 */
import type { CompiledRegex } from './engine.js';
import type { Check } from './checks.js';

/** How sensitive a finding is. Order matters: earlier categories win when spans merge. */
export type Category = 'secret' | 'pii' | 'identifier';
export const CATEGORIES: readonly Category[] = ['secret', 'pii', 'identifier'];

/** A detector as written in a pattern file (see patterns/schema.json). */
export interface DetectorSpec {
  id: string;
  category: Category;
  description: string;
  pattern: string;
  flags?: string;
  group?: number;
  maxLength: number;
  validator?: string | string[];
  minEntropy?: number;
  keywords?: string[];
  allow?: string[];
  sources?: string[];
  examples: { match: string[]; noMatch: string[] };
}

/** A pattern file. */
export interface FamilySpec {
  family: string;
  description: string;
  detectors: DetectorSpec[];
}

/** A loaded, validated, compiled detector. */
export interface Detector {
  /** Stable kebab-case id, e.g. `alibaba-access-key-id`. */
  readonly id: string;
  readonly category: Category;
  readonly description: string;
  /** The family (pattern file) it came from. */
  readonly family: string;
  /** Path of the pattern file, for messages. */
  readonly file: string;
  /** Upper bound of a match's length, in bytes. */
  readonly maxLength: number;
  /** Names of the validators applied to each value. */
  readonly validators: readonly string[];
  readonly checks: readonly Check[];
  readonly minEntropy: number | undefined;
  /** Lower-cased keyword literals; empty = always run. */
  readonly keywords: readonly Buffer[];
  /** Values that are never findings. */
  readonly allow: ReadonlySet<string>;
  readonly regex: CompiledRegex;
  /** The spec as written; kept for `detectors --json` and the ruleset hash. */
  readonly spec: DetectorSpec;
}

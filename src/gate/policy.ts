/**
 * The gate's threshold: which finding categories fail `aliscrub scan`.
 *
 * Categories are ordered secret > pii > identifier. `--fail-on X` fails on X and everything more
 * serious; `any` fails on every finding, whatever its category.
 */
import type { Category } from '../detect/detector.js';

export type FailOn = 'secret' | 'pii' | 'identifier' | 'any';
export const FAIL_ON: readonly FailOn[] = ['secret', 'pii', 'identifier', 'any'];
export const DEFAULT_FAIL_ON: FailOn = 'secret';

const RANK: Readonly<Record<Category, number>> = { secret: 3, pii: 2, identifier: 1 };
const THRESHOLD: Readonly<Record<FailOn, number>> = { secret: 3, pii: 2, identifier: 1, any: 0 };

/** True when a finding of `category` fails a gate set to `failOn`. */
export function failsAt(category: Category, failOn: FailOn): boolean {
  return (RANK[category] ?? 0) >= THRESHOLD[failOn];
}

/**
 * Hits → replacements (pure). Overlapping hits merge into one replacement so no part of either
 * value stays visible; touching hits stay separate. The token names the most important detector
 * in the merged span (secret before pii before identifier, then the longest hit).
 */
import type { Hit } from '../detect/scanner.js';
import { CATEGORIES } from '../detect/detector.js';

/** A merged span [start, end) (absolute byte offsets) and the hits it covers. */
export interface Span {
  start: number;
  end: number;
  hits: Hit[];
}

/**
 * Merges hits into disjoint spans sorted by start. Two hits merge when they overlap
 * (`b.start < a.end`); adjacency alone does not merge.
 * @param hits hits sorted by start (see compareHits).
 */
export function mergeHits(hits: readonly Hit[]): Span[] {
  const spans: Span[] = [];
  let cur: Span | undefined;
  for (const h of hits) {
    if (cur && h.start < cur.end) {
      cur.end = Math.max(cur.end, h.end);
      cur.hits.push(h);
    } else {
      cur = { start: h.start, end: h.end, hits: [h] };
      spans.push(cur);
    }
  }
  return spans;
}

/** The hit whose detector labels a merged span's token. */
export function labelHit(span: Span): Hit {
  let best = span.hits[0]!;
  for (const h of span.hits) {
    const rank = CATEGORIES.indexOf(h.detector.category) - CATEGORIES.indexOf(best.detector.category);
    const len = h.end - h.start - (best.end - best.start);
    if (rank < 0 || (rank === 0 && (len > 0 || (len === 0 && h.detector.id < best.detector.id)))) best = h;
  }
  return best;
}

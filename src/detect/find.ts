/** Single-detector whole-buffer search, used to check a detector's own examples. */
import type { Detector } from './detector.js';
import { Scanner, scanBuffer } from './scanner.js';
import type { Hit } from './scanner.js';

/** Every hit of one detector in `buf`, sorted by start. */
export function findAll(d: Detector, buf: Buffer): Hit[] {
  return scanBuffer(new Scanner([d]), buf);
}

/** Reads a fixture value list: one value per line, `#` comments and blank lines ignored. */
import { readFileSync } from 'node:fs';

export function readValueList(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** Every place `needle` occurs in `hay` (byte offsets). */
export function occurrences(hay: Buffer, needle: string): number[] {
  const n = Buffer.from(needle);
  const out: number[] = [];
  for (let i = hay.indexOf(n); i >= 0; i = hay.indexOf(n, i + 1)) out.push(i);
  return out;
}

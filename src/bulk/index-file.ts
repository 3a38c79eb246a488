/**
 * `index.json` and `index.csv`: the record of a bulk run, one row per incident. Like the
 * manifest, it holds no detected value: incident names are redacted like file names, counts are
 * counts. It is rewritten (temporary name, then rename) after every incident, so an interrupted
 * run keeps the record of every incident it finished. Deterministic: sorted by incident, no clock.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../bundle/staging.js';
import path from 'node:path';
import type { Category } from '../detect/detector.js';
import { compareNames } from '../source/collect.js';

export const INDEX_VERSION = 1;

/** One bundle file of an incident. */
export interface IndexBundle {
  /** Path relative to the output folder, '/'-separated. */
  readonly file: string;
  /** Size in bytes. */
  readonly bytes: number;
  /** sha256 (hex) of the file. */
  readonly sha256: string;
}

/**
 * An incident's outcome. `ok`: every input is in the bundle; `partial`: bundle written but some
 * inputs left out (binary, corrupt, …) or a part over the size limit; `failed`: no bundle.
 */
export type IncidentStatus = 'ok' | 'partial' | 'failed';

export interface IndexEntry {
  /** Incident name (folder or archive name, redacted like file names). */
  readonly incident: string;
  readonly source: 'folder' | 'archive';
  readonly status: IncidentStatus;
  /** Digest of the inputs and options the bundle was made from (see digestIncident). */
  readonly inputDigest: string;
  /** The bundle, or its parts in order; empty when failed. */
  readonly bundles: readonly IndexBundle[];
  /** Input files (manifest records). */
  readonly files: number;
  readonly findings: number;
  readonly byCategory: Readonly<Record<Category, number>>;
  /** Inputs left out (excluded, including by --exclude) and failed. */
  readonly excluded: number;
  readonly failed: number;
  /** Evidence files larger than --max-part-size (each in a part of its own, over the limit). */
  readonly oversized?: number;
  /** Why the incident failed (no detected value). */
  readonly message?: string;
}

export interface ArchiveIndex {
  readonly indexVersion: typeof INDEX_VERSION;
  readonly tool: { readonly name: 'aliscrub'; readonly version: string };
  /** Sorted by incident (UTF-8 byte order). */
  readonly incidents: readonly IndexEntry[];
}

/** Reads `index.json` from `dir`; an absent or unreadable index is empty (everything is redone). */
export async function readIndex(dir: string): Promise<Map<string, IndexEntry>> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as ArchiveIndex;
    if (parsed.indexVersion !== INDEX_VERSION || !Array.isArray(parsed.incidents)) return new Map();
    return new Map(parsed.incidents.map((e) => [e.incident, e]));
  } catch {
    return new Map();
  }
}

/** Serialises the index deterministically. */
export function renderIndexJson(entries: Iterable<IndexEntry>, version: string): string {
  const incidents = [...entries].sort((a, b) => compareNames(a.incident, b.incident));
  const index: ArchiveIndex = { indexVersion: INDEX_VERSION, tool: { name: 'aliscrub', version }, incidents };
  return `${JSON.stringify(index, null, 2)}\n`;
}

/** A CSV field: quoted when needed; a leading = + - @ is defused for spreadsheets. */
function csv(v: string | number): string {
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The same rows as CSV (bundles and hashes joined by `;`). */
export function renderIndexCsv(entries: Iterable<IndexEntry>): string {
  const rows = [['incident', 'source', 'status', 'bundles', 'bytes', 'sha256', 'files', 'findings', 'secret', 'pii', 'identifier', 'excluded', 'failed', 'input_digest'].join(',')];
  for (const e of [...entries].sort((a, b) => compareNames(a.incident, b.incident))) {
    rows.push(
      [
        e.incident,
        e.source,
        e.status,
        e.bundles.map((b) => b.file).join(';'),
        e.bundles.reduce((n, b) => n + b.bytes, 0),
        e.bundles.map((b) => b.sha256).join(';'),
        e.files,
        e.findings,
        e.byCategory.secret,
        e.byCategory.pii,
        e.byCategory.identifier,
        e.excluded,
        e.failed,
        e.inputDigest,
      ]
        .map(csv)
        .join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Writes index.json and index.csv into `dir`, each through a temporary name and a rename. */
export async function writeIndex(dir: string, entries: Iterable<IndexEntry>, version: string): Promise<void> {
  const list = [...entries];
  for (const [name, text] of [
    ['index.json', renderIndexJson(list, version)],
    ['index.csv', renderIndexCsv(list)],
  ] as const) {
    await writeAtomic(path.join(dir, name), text);
  }
}

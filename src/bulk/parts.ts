/**
 * Writing an incident's bundle from a staged run: one zip, or — when it would exceed
 * `--max-part-size` — self-contained parts `<name>-part<i>of<n>.zip`. Each part holds a whole
 * number of evidence files, its own `manifest.json` (the part's files and totals, plus the set's
 * totals under `part.set`) and `REDACTIONS.md`, so `aliscrub verify` checks each part on its own.
 * Files go to parts in path order, greedily, by their deflated size (zlib level 6, the level of
 * the bundle), so the split is deterministic. A file that alone does not fit gets a part of its own
 * that is over the limit, and is reported (`oversized`); nothing is left out silently.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { computeTotals, serializeManifest } from '../manifest.js';
import type { FileRecord, Manifest, ManifestTotals } from '../manifest.js';
import { renderRedactionsMd } from '../bundle/redactions-md.js';
import { writeZip } from '../bundle/zip.js';
import { compareNames } from '../source/collect.js';
import type { ZipEntry } from '../bundle/zip.js';
import type { StagedBundle } from '../run.js';

/** One written zip. */
export interface WrittenZip {
  /** File name (`<base>.zip` or `<base>-part<i>of<n>.zip`). */
  readonly name: string;
  /** Absolute path (inside the staging folder). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What {@link writeBundles} produced. */
export interface WrittenBundles {
  /** `single`: one zip; `parts`: a folder of parts. */
  readonly kind: 'single' | 'parts';
  /** The zip(s), in part order. */
  readonly zips: readonly WrittenZip[];
  /** For `parts`: the folder holding them (publish it as a whole). */
  readonly folder?: string;
  /** Evidence files that alone exceed the limit (each in a part of its own). */
  readonly oversized: number;
}

export interface BundleOptions {
  /** Split above this many bytes per zip; undefined or 0 = never split. */
  readonly maxPartBytes?: number;
  /**
   * Cut an evidence file that alone does not fit a part into pieces (`app.log.001`, …) at line
   * ends, so each piece is readable and rescannable on its own. Only uncompressed UTF-8 and
   * GB18030 text can be cut (their newline byte is never part of another character); other files
   * stay whole and oversized.
   */
  readonly splitOversized?: boolean;
  /** Extra top-level manifest fields (e.g. `pseudonyms`). */
  readonly extra?: Pick<Manifest, 'pseudonyms'>;
}

/** Zip bytes per entry besides its data: local header, central record, Zip64 extras (20 + 28), twice the name. */
const ENTRY_OVERHEAD = 30 + 46 + 20 + 28;
/** End of central directory (with zip64 records). */
const ZIP_TAIL = 22 + 56 + 20;

/** Deflated size of a file at level 6 (what the zip writer writes for it). */
async function deflatedSize(file: string): Promise<number> {
  let n = 0;
  await pipeline(
    createReadStream(file),
    createDeflateRaw({ level: 6 }),
    new Writable({
      write(c: Buffer, _e, cb) {
        n += c.length;
        cb();
      },
    }),
  );
  return n;
}

function withExtra(m: Manifest, extra: BundleOptions['extra']): Manifest {
  return extra?.pseudonyms ? { ...m, pseudonyms: extra.pseudonyms } : m;
}

function partNote(index: number, count: number, set: ManifestTotals): string {
  return [
    `## Part ${index} of ${count}`,
    '',
    `This zip is part ${index} of ${count} of one incident's bundle; each part is complete in itself (its own manifest and summary).`,
    `Files and totals above are this part's. The whole set: ${set.files} files (redacted ${set.redacted}, clean ${set.clean}, left out ${set.excluded + set.failed}),`,
    `${set.findings} replacements (secret ${set.byCategory.secret}, pii ${set.byCategory.pii}, identifier ${set.byCategory.identifier}). The same value has the same token in every part.`,
    '',
  ].join('\n');
}

async function zipOf(dest: string, staged: StagedBundle, manifest: Manifest, evidence: StagedBundle['evidence'], note?: string): Promise<{ bytes: number; sha256: string }> {
  const entries: ZipEntry[] = evidence.map((e) => ({ name: e.name, file: e.file }));
  entries.push({ name: 'manifest.json', data: Buffer.from(serializeManifest(manifest)) });
  entries.push({ name: 'REDACTIONS.md', data: Buffer.from(renderRedactionsMd(manifest, staged.detectorInfo) + (note ? `\n${note}` : '')) });
  return writeZip(dest, entries, new Date(manifest.createdAt));
}

/**
 * Writes the bundle (or its parts) for a staged run into `dir`.
 * @param base bundle name without `.zip`
 */
export async function writeBundles(staged: StagedBundle, dir: string, base: string, opts: BundleOptions): Promise<WrittenBundles> {
  const full = withExtra(staged.manifest, opts.extra);
  const single = path.join(dir, `${base}.zip`);
  const written = await zipOf(single, staged, full, staged.evidence);
  const max = opts.maxPartBytes ?? 0;
  if (max <= 0 || written.bytes <= max) return { kind: 'single', zips: [{ name: `${base}.zip`, path: single, ...written }], oversized: 0 };

  // Sizes each file adds to a part: deflated data, zip overhead, its share of the deflated manifest
  // and summary. Estimates; every part is checked after it is written and the split redone if one is over.
  const rawManifest = Buffer.from(serializeManifest(full));
  const ratio = Math.min(1, Math.max(0.05, deflateRawSync(rawManifest, { level: 6 }).length / rawManifest.length) * 1.25);
  const emptyBytes = Buffer.byteLength(serializeManifest({ ...full, files: [] }));
  const cost = new Map<string, number>();
  const deflatedBytes = new Map<string, number>();
  for (const e of staged.evidence) {
    const record = Buffer.byteLength(serializeManifest({ ...full, files: [e.record] })) - emptyBytes;
    const deflated = await deflatedSize(e.file);
    deflatedBytes.set(e.name, deflated);
    cost.set(e.name, deflated + ENTRY_OVERHEAD + 2 * Buffer.byteLength(e.name) + Math.ceil(record * ratio) + Buffer.byteLength(e.name) + 64);
  }
  const leftOut: FileRecord[] = staged.manifest.files.filter((f) => f.status === 'excluded' || f.status === 'failed');
  const fixedOf = (first: boolean): number => {
    const m: Manifest = { ...full, files: first ? leftOut : [], totals: computeTotals(first ? leftOut : []), part: { index: 999, count: 999, set: full.totals } };
    const md = renderRedactionsMd(m, staged.detectorInfo) + partNote(999, 999, full.totals);
    return deflateRawSync(serializeManifest(m), { level: 6 }).length + deflateRawSync(md, { level: 6 }).length + 2 * ENTRY_OVERHEAD + 64 + ZIP_TAIL + 512;
  };
  const fixedFirst = fixedOf(true);
  const fixedRest = fixedOf(false);
  const fixed = (first: boolean): number => (first ? fixedFirst : fixedRest);
  let evidence = staged.evidence;
  if (opts.splitOversized) evidence = await cutOversized(evidence, cost, deflatedBytes, max - fixedFirst - 4096);

  let margin = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    // Greedy, in path order.
    const groups: Array<StagedBundle['evidence'][number][]> = [];
    let cur: StagedBundle['evidence'][number][] = [];
    let used = fixed(true);
    for (const e of evidence) {
      const c = cost.get(e.name)!;
      if (cur.length > 0 && used + c > max - margin) {
        groups.push(cur);
        cur = [];
        used = fixed(false);
      }
      cur.push(e);
      used += c;
    }
    if (cur.length > 0 || groups.length === 0) groups.push(cur);
    const count = groups.length;
    const folder = path.join(dir, 'parts');
    await mkdir(folder, { recursive: true });
    const zips: WrittenZip[] = [];
    let over = 0;
    let oversized = 0;
    for (let i = 0; i < count; i++) {
      const files = [...(i === 0 ? leftOut : []), ...groups[i]!.map((e) => e.record)].sort((a, b) => compareNames(a.path, b.path));
      const m: Manifest = { ...full, files, totals: computeTotals(files), part: { index: i + 1, count, set: full.totals } };
      const name = `${base}-part${i + 1}of${count}.zip`;
      const dest = path.join(folder, name);
      const w = await zipOf(dest, staged, m, groups[i]!, partNote(i + 1, count, full.totals));
      zips.push({ name, path: dest, ...w });
      if (w.bytes > max && groups[i]!.length > 1) over = Math.max(over, w.bytes - max);
      else if (w.bytes > max) oversized++;
    }
    if (over === 0) return { kind: 'parts', zips, folder, oversized };
    // An estimate was short (should not happen): tighten and redo.
    const { rm } = await import('node:fs/promises');
    await rm(folder, { recursive: true, force: true });
    margin += over + 4096;
  }
  throw new Error('could not split the bundle under --max-part-size');
}

type EvidenceEntry = StagedBundle['evidence'][number];

/** Files that can be cut at newline bytes without splitting a character or a compressed stream. */
function cuttable(r: FileRecord): boolean {
  return (r.status === 'redacted' || r.status === 'clean') && r.compression === 'none' && (r.encoding === 'utf-8' || r.encoding === 'gb18030');
}

/**
 * Replaces each entry whose estimated cost exceeds `budget` (and that can be cut) by pieces
 * written next to its staged file. Piece records carry their own size and hash (so `verify`
 * checks each piece) and `split` naming the whole; the first piece carries the file's findings,
 * whose positions refer to the whole file. Updates `cost` for the pieces.
 */
async function cutOversized(evidence: readonly EvidenceEntry[], cost: Map<string, number>, deflatedBytes: ReadonlyMap<string, number>, budget: number): Promise<EvidenceEntry[]> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const out: EvidenceEntry[] = [];
  for (const e of evidence) {
    const rec = e.record;
    if (cost.get(e.name)! <= budget || !(rec.status === 'redacted' || rec.status === 'clean') || !cuttable(rec)) {
      out.push(e);
      continue;
    }
    const data = await readFile(e.file);
    // Piece 1 also carries the file's findings in its part's manifest: it gets less room.
    const recordCost = deflateRawSync(JSON.stringify({ counts: rec.counts, findings: rec.findings, omitted: rec.omitted }), { level: 6 }).length + 1024;
    if (recordCost > budget / 2) {
      out.push(e); // its findings alone nearly fill a part: leave it whole (reported oversized)
      continue;
    }
    const ratio = Math.max(0.01, deflatedBytes.get(e.name)! / Math.max(1, data.length));
    const target = Math.max(4096, Math.floor((budget * 0.8) / ratio));
    const firstTarget = Math.max(4096, Math.floor(((budget - recordCost) * 0.8) / ratio));
    const cuts: Array<[number, number]> = [];
    for (let at = 0; at < data.length; ) {
      let end = Math.min(data.length, at + (cuts.length === 0 ? firstTarget : target));
      if (end < data.length) {
        const nl = data.lastIndexOf(0x0a, end - 1);
        if (nl >= at) end = nl + 1;
        // One line longer than a piece: cut at a UTF-8 character start (GB18030 lines this long are cut at a byte).
        else while (end > at + 1 && rec.encoding === 'utf-8' && (data[end]! & 0xc0) === 0x80) end--;
      }
      cuts.push([at, end]);
      at = end;
    }
    if (cuts.length < 2) {
      out.push(e);
      continue;
    }
    const { omitted, ...whole } = rec;
    const wholeOut = { bytesOut: rec.bytesOut, sha256: rec.sha256 };
    if (wholeOut.bytesOut === undefined || wholeOut.sha256 === undefined) throw new Error(`${rec.path}: staged record without output size and hash`);
    const width = Math.max(3, String(cuts.length).length);
    for (let i = 0; i < cuts.length; i++) {
      const [from, to] = cuts[i]!;
      const piece = data.subarray(from, to);
      const suffix = `.${String(i + 1).padStart(width, '0')}`;
      const file = `${e.file}${suffix}`;
      await writeFile(file, piece, { flag: 'wx' });
      const record: FileRecord = {
        ...whole,
        path: `${rec.path}${suffix}`,
        bytesOut: piece.length,
        sha256: createHash('sha256').update(piece).digest('hex'),
        bom: i === 0 ? rec.bom : false,
        counts: i === 0 ? rec.counts : {},
        findings: i === 0 ? rec.findings : [],
        ...(i === 0 && omitted ? { omitted } : {}),
        split: { index: i + 1, count: cuts.length, of: rec.path, bytesOut: wholeOut.bytesOut, sha256: wholeOut.sha256 },
      };
      const name = `${e.name}${suffix}`;
      cost.set(name, (await deflatedSize(file)) + ENTRY_OVERHEAD + 3 * Buffer.byteLength(name) + 512);
      out.push({ name, file, record });
    }
  }
  return out;
}

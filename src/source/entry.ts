/**
 * An evidence file to process, and the cheap checks made before reading it.
 */
import path from 'node:path';

/** One input file. Bytes are read only by the pipeline, through `absolutePath`. */
export interface Entry {
  /** '/'-separated name relative to the common input root; also the name inside the bundle. */
  readonly path: string;
  readonly absolutePath: string;
  /** Size at collection time, in bytes. */
  readonly size: number;
  /** Modification time at collection time, ms since the epoch. */
  readonly mtimeMs: number;
}

/**
 * Extensions of formats that are binary (images, archives, documents, executables). They are
 * left out with reason `binary` without being read; support for archives and screenshot metadata
 * is a separate feature. Not here: single-file `.gz` (decompressed and scrubbed) and `.zip`,
 * `.tar`, `.tgz`/`.tar.gz` (read as folders of members, see archive.ts).
 */
const BINARY_EXTENSIONS = new Set(
  (
    'bmp ico tif tiff heic psd svgz ' +
    'bz2 xz zst 7z rar lz4 jar war ear apk ipa ' +
    'pdf doc docx xls xlsx ppt pptx odt ods odp ' +
    'exe dll so dylib bin o a class pyc wasm ' +
    'db sqlite sqlite3 mdb pcap pcapng cap dmp core hprof ' +
    'mp3 mp4 m4a mov avi mkv wav ogg flac webm ' +
    'woff woff2 ttf otf eot'
  ).split(' '),
);

/** Screenshot formats whose metadata is stripped (pixels copied, not scanned). */
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp']);

/** True when the file name says it is a PNG, JPEG, GIF or WebP image. */
export function hasImageExtension(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).slice(1).toLowerCase());
}

/** True when the file name says the content is binary. */
export function hasBinaryExtension(name: string): boolean {
  return BINARY_EXTENSIONS.has(path.extname(name).slice(1).toLowerCase()) || hasImageExtension(name);
}

/** Bytes sniffed from the start of a file to decide whether it is binary (like git and ripgrep). */
export const SNIFF_BYTES = 8192;

/** True when a sniffed prefix contains a NUL byte. */
export function looksBinary(prefix: Buffer): boolean {
  return prefix.indexOf(0) >= 0;
}

/**
 * The structured layer as a pipeline stage between decoding and redaction:
 *
 *   decode → StructureStage → RedactTransform → encode
 *
 * It passes bytes through unchanged and hands the redactor forced hits before the bytes they
 * cover. Whole documents are held up to a size cap and parsed at the end; NDJSON goes line by
 * line. Either way the hits do not depend on how the input was chunked.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { RedactTransform } from '../redact/redactor.js';
import { FileError } from '../errors.js';
import { documentHits } from './document.js';
import type { StructureContext, StructureOutcome } from './document.js';
import type { StructuredFormat } from './formats.js';

/**
 * Largest document parsed as a whole (and longest NDJSON line): 16 MiB of decoded text. A parsed
 * HAR costs ~30 bytes of heap per byte (measured: 3 MB HAR → 87 MB heap), so 16 MiB keeps a
 * worst case near 500 MB; at 64 MiB a large HAR could exhaust the heap and crash the run.
 */
export const MAX_STRUCTURED_BYTES = 16 * 1024 * 1024;

/** A Transform that finds structured values; read {@link StructureStage.outcome} after the end. */
export class StructureStage extends Transform {
  readonly outcome: StructureOutcome = { keyRules: 'applied', bodiesRemoved: 0 };
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Absolute offset of the first held byte. */
  private heldBase = 0;
  /** Over the cap: bytes pass straight through (whole mode) or up to the next newline (NDJSON). */
  private passing = false;
  private parsedLines = 0;
  private failedLines = 0;

  constructor(
    private readonly ctx: StructureContext,
    /** The format the file is parsed as (recorded in the manifest). */
    readonly format: StructuredFormat,
    private readonly redactor: RedactTransform,
    private readonly maxBytes = ctx.maxBytes ?? MAX_STRUCTURED_BYTES,
    /** Name for messages (never content). */
    private readonly name = '(document)',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.format === 'ndjson') {
      this.lines(chunk, false).then(() => cb(), cb);
      return;
    }
    if (this.passing) return cb(null, chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > this.maxBytes) {
      // A HAR's cookies, form fields and base64 bodies are found only by parsing it: without the
      // key rules it would go out with them, so it is left out (fail closed).
      if (this.format === 'har')
        return cb(new FileError('too-large', `${this.name}: HAR larger than ${Math.round(this.maxBytes / 2 ** 20)} MiB: its cookies, form fields and base64 bodies need the whole capture parsed (raise --max-structured-size, or save a smaller capture)`));
      // Too large to parse whole: the text detectors still see every byte (recorded, see DESIGN.md).
      this.passing = true;
      this.outcome.keyRules = 'text-only';
      this.outcome.reason = 'too-large';
      const all = Buffer.concat(this.held);
      this.held = [];
      return cb(null, all);
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.format === 'ndjson') {
      this.lines(Buffer.alloc(0), true).then(() => cb(), cb);
      return;
    }
    if (this.passing) return cb();
    const doc = Buffer.concat(this.held);
    this.held = [];
    documentHits(this.ctx, doc, this.format, 0, this.outcome).then((hits) => {
      this.redactor.force(hits);
      cb(null, doc);
    }, cb);
  }

  /** NDJSON: each complete line is parsed, its hits forced, then the line is passed on. */
  private async lines(chunk: Buffer, eof: boolean): Promise<void> {
    let data = this.held.length ? Buffer.concat([...this.held, chunk]) : chunk;
    this.held = [];
    let at = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, at);
      const end = nl >= 0 ? nl + 1 : eof ? data.length : -1;
      if (end < 0 || end === at) break;
      const line = data.subarray(at, end);
      if (this.passing) {
        this.push(line); // the rest of an over-long line
        this.passing = nl < 0;
      } else {
        const one: StructureOutcome = { keyRules: 'applied', bodiesRemoved: 0 };
        const hits = await documentHits(this.ctx, line, 'ndjson', this.heldBase, one);
        if (line.toString('utf8').trim().length > 0) {
          if (one.keyRules === 'applied') this.parsedLines++;
          else this.failedLines++;
        }
        this.redactor.force(hits);
        this.push(line);
      }
      this.heldBase += line.length;
      at = end;
    }
    data = data.subarray(at);
    if (data.length > this.maxBytes) {
      // A line longer than the cap: pass it through unparsed (text detectors only).
      this.failedLines++;
      this.outcome.reason = 'too-large';
      this.passing = true;
      this.push(data);
      this.heldBase += data.length;
      data = Buffer.alloc(0);
    }
    if (data.length) this.held = [Buffer.from(data)];
    if (eof || this.failedLines > 0) this.settle();
  }

  private settle(): void {
    if (this.failedLines === 0) return;
    this.outcome.keyRules = this.parsedLines > 0 ? 'partial' : 'text-only';
    this.outcome.reason ??= 'not-parseable';
  }
}

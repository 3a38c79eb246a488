/**
 * Parsers: each turns a document's text into ranges to redact (UTF-16 units of that text), or
 * returns undefined when the text does not parse (the caller falls back to the text detectors).
 * Values are found by key name only; the text detectors still run on every byte.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { CST, Node as YamlNode } from 'yaml';
import type * as Saxes from 'saxes';
import type { SecretKeys } from './keys.js';
import { JSON_ESCAPES, hex4 } from './offsets.js';
import { keyRuleSpans } from './tree.js';
import type { SNode, TextSpan } from './tree.js';

// The YAML and XML parsers are loaded on first use (both are CommonJS, so synchronously): saxes
// alone takes ~35 ms to load, and most runs (logs, transcripts) parse no YAML or XML at all.
const require = createRequire(import.meta.url);
let yamlLib: typeof Yaml | undefined;
let saxesLib: typeof Saxes | undefined;
const yaml = (): typeof Yaml => (yamlLib ??= require('yaml') as typeof Yaml);
const saxes = (): typeof Saxes => (saxesLib ??= require('saxes') as typeof Saxes);

/** Structured formats recognised by file name. */
export type StructuredFormat = 'json' | 'ndjson' | 'har' | 'yaml' | 'ini' | 'env' | 'properties' | 'xml';

/**
 * The structured format of a file from its name (a trailing `.gz` is ignored: the content is
 * decompressed before this layer sees it), or undefined for plain text.
 */
export function formatFor(name: string): StructuredFormat | undefined {
  let base = (name.split('/').pop() ?? name).toLowerCase();
  if (base.endsWith('.gz')) base = base.slice(0, -3);
  const ext = base.includes('.') ? base.slice(base.lastIndexOf('.') + 1) : '';
  if (base === '.env' || base.startsWith('.env.') || ext === 'env') return 'env';
  if (base === 'credentials') return 'ini'; // ~/.alibabacloud/credentials
  switch (ext) {
    case 'json':
      return 'json';
    case 'ndjson':
    case 'jsonl':
      return 'ndjson';
    case 'har':
      return 'har';
    case 'yaml':
    case 'yml':
      return 'yaml';
    case 'ini':
    case 'cfg':
    case 'conf':
      return 'ini';
    case 'properties':
      return 'properties';
    case 'xml':
      return 'xml';
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- JSON

/**
 * Deepest nesting of arrays and objects parsed. The tree walks recurse: at ~5000 levels the main
 * thread's stack overflows where a worker's larger one does not, so the outcome would depend on
 * the thread. Deeper text counts as not parseable, on every thread.
 */
export const MAX_JSON_DEPTH = 1000;

/** A map or sequence of {@link parseJson} still being filled. */
type OpenNode = { readonly kind: 'map'; readonly entries: Array<{ key: string; value: SNode }>; key: string } | { readonly kind: 'seq'; readonly items: SNode[] };

/**
 * Parses strict JSON (RFC 8259) into a tree with source ranges; undefined when it is not valid
 * JSON or nests deeper than {@link MAX_JSON_DEPTH}.
 *
 * Our own reader, not jsonc-parser's `visit()`: that makes a new scanner and parser (new
 * closures) per call, and V8 holds a dead closure's optimised code only weakly, so after every
 * full GC the next NDJSON lines ran unoptimised until TurboFan compiled it all again (DESIGN.md,
 * "Closures made per call"). jsonc-parser stays the test oracle: test/structured.test.ts checks
 * this tree, node for node and range for range, against its `parseTree()` on random and broken
 * JSON, and validity and values against `JSON.parse`. One difference is deliberate: a raw
 * U+2028/U+2029 inside a string is valid JSON, which jsonc-parser refused.
 *
 * The tree is built directly, not converted from a library's tree: with jsonc-parser's (a node per
 * value and per property, with parent links) both trees took 80 MB of heap for a 4.9 MB HAR,
 * against 33 MB for this one alone.
 */
export function parseJson(text: string): SNode | undefined {
  return new JsonReader(text).document();
}

/** One pass over a JSON text; its methods are shared, so V8 compiles them once per thread. */
class JsonReader {
  /** Next UTF-16 index to read. */
  private pos = 0;

  constructor(private readonly text: string) {}

  /** The whole text as one value, or undefined. Iterative: the depth is bounded by data, not the stack. */
  document(): SNode | undefined {
    const open: OpenNode[] = [];
    for (;;) {
      // A value starts at the next token.
      let c = this.skipSpace();
      const at = this.pos;
      let node: SNode;
      if (c === 0x7b || c === 0x5b) {
        if (open.length >= MAX_JSON_DEPTH) return undefined;
        this.pos++;
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (this.skipSpace() === close) {
          this.pos++;
          node = close === 0x7d ? { kind: 'map', entries: [] } : { kind: 'seq', items: [] };
        } else if (close === 0x5d) {
          open.push({ kind: 'seq', items: [] });
          continue;
        } else {
          const key = this.key();
          if (key === undefined) return undefined;
          open.push({ kind: 'map', entries: [], key });
          continue;
        }
      } else if (c === 0x22) {
        const s = this.string();
        if (s === undefined) return undefined;
        node = { kind: 'scalar', text: s, redactable: true, start: at + 1, end: this.pos - 1, bare: false };
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        if (!this.number()) return undefined;
        node = { kind: 'scalar', text: undefined, redactable: true, start: at, end: this.pos, bare: true };
      } else if (this.word('true') || this.word('false') || this.word('null')) {
        node = { kind: 'scalar', text: undefined, redactable: false, start: at, end: this.pos, bare: true };
      } else return undefined;
      // The value is complete: it goes into the innermost open node, which may then close, and so on.
      for (;;) {
        const top = open[open.length - 1];
        if (top === undefined) return this.skipSpace() < 0 ? node : undefined;
        if (top.kind === 'map') top.entries.push({ key: top.key, value: node });
        else top.items.push(node);
        c = this.skipSpace();
        if (c === 0x2c) {
          this.pos++;
          if (top.kind === 'map') {
            const key = this.key();
            if (key === undefined) return undefined;
            top.key = key;
          }
          break;
        }
        if (c !== (top.kind === 'map' ? 0x7d : 0x5d)) return undefined;
        this.pos++;
        open.pop();
        node = top.kind === 'map' ? { kind: 'map', entries: top.entries } : { kind: 'seq', items: top.items };
      }
    }
  }

  /** Skips JSON whitespace (space, tab, LF, CR only); returns the next code unit, or -1 at the end. */
  private skipSpace(): number {
    const t = this.text;
    for (let p = this.pos; p < t.length; p++) {
      const c = t.charCodeAt(p);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
        this.pos = p;
        return c;
      }
    }
    this.pos = t.length;
    return -1;
  }

  /** A member's name and its colon; undefined when they are not there. */
  private key(): string | undefined {
    if (this.skipSpace() !== 0x22) return undefined;
    const name = this.string();
    if (name === undefined || this.skipSpace() !== 0x3a) return undefined;
    this.pos++;
    return name;
  }

  /** The decoded string whose opening quote is at `pos`; `pos` moves past its closing quote. */
  private string(): string | undefined {
    const t = this.text;
    const from = this.pos + 1;
    for (let p = from; p < t.length; p++) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.pos = p + 1;
        return t.slice(from, p);
      }
      if (c === 0x5c) return this.escapedString(from, p);
      if (c < 0x20) return undefined;
    }
    return undefined;
  }

  /** The rest of {@link JsonReader.string} from its first backslash, at `p`. */
  private escapedString(from: number, p: number): string | undefined {
    const t = this.text;
    let out = t.slice(from, p);
    let run = p;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        this.pos = p + 1;
        return out + t.slice(run, p);
      }
      if (c < 0x20) return undefined;
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += t.slice(run, p);
      const e = t.charCodeAt(p + 1);
      if (e === 0x75) {
        const u = hex4(t, p + 2);
        if (u < 0) return undefined;
        out += String.fromCharCode(u);
        p += 6;
      } else {
        const ch = JSON_ESCAPES[e];
        if (ch === undefined) return undefined;
        out += ch;
        p += 2;
      }
      run = p;
    }
    return undefined;
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `pos`; false when malformed. */
  private number(): boolean {
    const t = this.text;
    let p = this.pos;
    if (t.charCodeAt(p) === 0x2d) p++;
    const first = t.charCodeAt(p);
    if (first === 0x30) p++;
    else if (first >= 0x31 && first <= 0x39) p = digits(t, p + 1);
    else return false;
    if (t.charCodeAt(p) === 0x2e) {
      const q = digits(t, p + 1);
      if (q === p + 1) return false;
      p = q;
    }
    if ((t.charCodeAt(p) | 0x20) === 0x65) {
      p++;
      const sign = t.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      const q = digits(t, p);
      if (q === p) return false;
      p = q;
    }
    this.pos = p;
    return true;
  }

  /** True, past it, when `literal` is at `pos`. What follows is checked as the next token. */
  private word(literal: string): boolean {
    if (!this.text.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }
}

/** Index of the first non-digit at or after `p`. */
function digits(t: string, p: number): number {
  while (p < t.length) {
    const c = t.charCodeAt(p);
    if (c < 0x30 || c > 0x39) break;
    p++;
  }
  return p;
}

/** Key rules over a JSON document. */
export function jsonSpans(text: string, keys: SecretKeys): TextSpan[] | undefined {
  const tree = parseJson(text);
  return tree ? keyRuleSpans(tree, keys) : undefined;
}

// ---------------------------------------------------------------- YAML

/** Key rules over every document of a YAML stream; undefined when any document has an error. */
export function yamlSpans(text: string, keys: SecretKeys): TextSpan[] | undefined {
  // Parsed once to tokens: they give the node properties' positions (the composed nodes do not).
  const { Composer, Parser } = yaml();
  const tokens = Array.from(new Parser().parse(text));
  const docs = Array.from(new Composer({ uniqueKeys: false }).compose(tokens));
  const props = yamlProps(tokens);
  const out: TextSpan[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) return undefined;
    if (!doc.contents) continue;
    const from = out.length;
    keyRuleSpans(fromYaml(doc.contents, text, props.starts), keys, out);
    // A value redacted with its tag lost an anchor written after that tag: its aliases (which
    // stand for the same value) are redacted too, so the document still resolves.
    const [docStart, , docEnd] = doc.range;
    for (const s of out.slice(from)) {
      const anchor = props.dropped.get(s.start);
      if (anchor === undefined) continue;
      for (const a of props.aliases)
        if (a.name === anchor && a.start > s.start && a.start >= docStart && a.end <= docEnd) out.push({ start: a.start, end: a.end, quote: true });
    }
  }
  return out;
}

/**
 * Node properties from YAML tokens. `starts`: for a value whose tag (`!!str`, `!custom`) comes
 * after its `:`/`-`, the offset of that tag by the offset of the value, so the value's span covers
 * it: a text detector that matches the tag (`password: !!str x`) then merges with the key rule
 * into one quoted token instead of leaving `TOKEN "TOKEN"` (not YAML). An anchor written before
 * the tag stays outside the span; one written after it is dropped with it (`dropped`: its name,
 * by span start), and `aliases` lets the caller redact what pointed at it.
 */
function yamlProps(tokens: readonly CST.Token[]): {
  starts: Map<number, number>;
  dropped: Map<number, string>;
  aliases: Array<{ name: string; start: number; end: number }>;
} {
  const starts = new Map<number, number>();
  const dropped = new Map<number, string>();
  const aliases: Array<{ name: string; start: number; end: number }> = [];
  for (const t of tokens) {
    if (t.type !== 'document') continue;
    yaml().CST.visit(t, (item) => {
      for (const v of [item.key, item.value]) if (v?.type === 'alias') aliases.push({ name: v.source.slice(1), start: v.offset, end: v.offset + v.source.length });
      if (!item.value) return;
      // A pair's value properties follow its `:` (in sep); a sequence item's or document's are in start.
      const list = item.sep ?? item.start;
      const after = item.sep ? list.findIndex((s) => s.type === 'map-value-ind') + 1 : 0;
      const own = list.slice(after).filter((s) => s.type === 'anchor' || s.type === 'tag');
      const tag = own.findIndex((s) => s.type === 'tag');
      if (tag < 0) return;
      starts.set(item.value.offset, own[tag]!.offset);
      const lost = own.slice(tag).find((s) => s.type === 'anchor');
      if (lost) dropped.set(own[tag]!.offset, lost.source.slice(1));
    });
  }
  return { starts, dropped, aliases };
}

const EMPTY_MAP: SNode = { kind: 'map', entries: [] };

function fromYaml(n: YamlNode | null | unknown, text: string, props: ReadonlyMap<number, number>): SNode {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
  if (isMap(n)) {
    const entries: Array<{ key: string; value: SNode }> = [];
    for (const p of n.items) {
      if (!isPair(p)) continue;
      const key = isScalar(p.key) ? String(p.key.value) : '';
      entries.push({ key, value: fromYaml(p.value, text, props) });
    }
    return { kind: 'map', entries };
  }
  if (isSeq(n)) return { kind: 'seq', items: n.items.map((i) => fromYaml(i, text, props)) };
  if (isScalar(n) && n.range) {
    const [start, valueEnd] = n.range;
    const v = n.value;
    // With a tag (`!!str x`, `!!binary |`), the tag and the value are one span (see yamlProps).
    const tagged = props.get(start);
    const redactable = typeof v === 'string' ? v.length > 0 : typeof v === 'number' || typeof v === 'bigint' || (tagged !== undefined && v instanceof Uint8Array);
    if ((n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE') && tagged === undefined)
      return { kind: 'scalar', text: String(v), redactable, start: start + 1, end: valueEnd - 1, bare: false };
    // Plain, block and tagged scalars: the whole range (a block's `|` header and a tag included)
    // becomes a quoted token; trailing line breaks stay so the next key keeps its line.
    let end = valueEnd;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    return { kind: 'scalar', text: typeof v === 'string' ? v : undefined, redactable, start: tagged ?? start, end, bare: true };
  }
  if (isAlias(n)) return EMPTY_MAP; // the anchored value is handled where it is defined
  return EMPTY_MAP;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

// ---------------------------------------------------------------- INI, .env, .properties

/**
 * Line-based `key = value` / `key: value` files: INI and `.conf` (sections, `;`/`#` comments),
 * `.env` (`export KEY=value`, quotes, ` #` comments after unquoted values) and `.properties`
 * (`!` comments, `\` continuation lines). Lines that are not assignments are skipped. Never fails.
 */
export function lineSpans(text: string, format: 'ini' | 'env' | 'properties', keys: SecretKeys): TextSpan[] {
  const out: TextSpan[] = [];
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let next = lineEnd + 1;
    let i = lineStart;
    while (i < lineEnd && (text[i] === ' ' || text[i] === '\t')) i++;
    const c = text[i];
    if (i < lineEnd && c !== '#' && c !== ';' && c !== '[' && !(format === 'properties' && c === '!')) {
      if (format === 'env' && text.startsWith('export ', i)) i += 7;
      let sep = -1;
      for (let j = i; j < lineEnd; j++) {
        const ch = text[j];
        if (ch === '=' || (format !== 'env' && ch === ':')) {
          sep = j;
          break;
        }
      }
      if (sep > i && keys.isSecret(text.slice(i, sep).trim())) {
        let v = sep + 1;
        while (v < lineEnd && (text[v] === ' ' || text[v] === '\t')) v++;
        let end = lineEnd;
        if (end > v && text[end - 1] === '\r') end--;
        const q = text[v];
        if ((q === '"' || q === "'") && format !== 'properties') {
          const close = text.indexOf(q, v + 1);
          if (close >= 0 && close < end) {
            if (close > v + 1) out.push({ start: v + 1, end: close });
            lineStart = next;
            continue;
          }
        }
        if (format === 'env') {
          const hash = text.indexOf(' #', v);
          if (hash >= 0 && hash < end) end = hash;
        }
        if (format === 'properties') {
          // A value continues while its line ends in an odd number of backslashes.
          while (endsContinued(text, lineStart, end) && next < text.length) {
            lineStart = next;
            let e = text.indexOf('\n', lineStart);
            if (e < 0) e = text.length;
            next = e + 1;
            end = e > lineStart && text[e - 1] === '\r' ? e - 1 : e;
          }
        }
        while (end > v && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
        if (end > v) out.push({ start: v, end });
      }
    }
    lineStart = next;
  }
  return out;
}

function endsContinued(text: string, from: number, end: number): boolean {
  let n = 0;
  for (let i = end - 1; i >= from && text[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

// ---------------------------------------------------------------- form-urlencoded

/** `a=1&password=x`: values of secret-like names (names are URL-decoded first). */
export function formSpans(text: string, keys: SecretKeys, from = 0, to = text.length): TextSpan[] {
  const out: TextSpan[] = [];
  let at = from;
  while (at < to) {
    let amp = text.indexOf('&', at);
    if (amp < 0 || amp > to) amp = to;
    const eq = text.indexOf('=', at);
    if (eq >= 0 && eq < amp && amp > eq + 1) {
      let name = text.slice(at, eq).split('+').join(' ');
      try {
        name = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      if (keys.isSecret(name)) out.push({ start: eq + 1, end: amp });
    }
    at = amp + 1;
  }
  return out;
}

/** The query string of a URL: values of secret-like parameters. */
export function urlSpans(url: string, keys: SecretKeys): TextSpan[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  let end = url.indexOf('#', q);
  if (end < 0) end = url.length;
  return formSpans(url, keys, q + 1, end);
}

// ---------------------------------------------------------------- XML

interface Open {
  readonly name: string;
  /** Index just past the start tag. */
  readonly contentStart: number;
  hasChildren: boolean;
  text: string;
  /** From a `name`/`key` attribute or a `<name>` child: the element holds a secret pair. */
  pairSecret: boolean;
  /** A secret `name`/`key` attribute: this element's own content is the pair's value. */
  ownPair: boolean;
}

const localName = (n: string): string => n.slice(n.indexOf(':') + 1);

/**
 * Element text and attribute values of secret-like names, plus name/value pairs:
 * `<entry key="db.password">x</entry>`, `<property name="token" value="x"/>` and
 * `<property><name>fs.oss.accessKeySecret</name><value>x</value></property>`.
 * Undefined when the XML is not well-formed.
 */
export function xmlSpans(text: string, keys: SecretKeys): TextSpan[] | undefined {
  const out: TextSpan[] = [];
  const stack: Open[] = [];
  const parser = new (saxes().SaxesParser)({ position: true });
  let attrs: Array<{ name: string; value: string; start: number; end: number }> = [];
  let failed = false;
  parser.on('error', () => {
    failed = true;
  });
  parser.on('attribute', (a) => {
    // saxes reports the position just past the closing quote; an attribute value never holds its
    // own quote character unescaped, so the opening quote is the previous one.
    const end = parser.position - 1;
    const quote = text[end];
    const start = quote === '"' || quote === "'" ? text.lastIndexOf(quote, end - 1) + 1 : end;
    attrs.push({ name: localName(a.name), value: a.value, start, end });
  });
  parser.on('opentag', (t) => {
    const parent = stack[stack.length - 1];
    if (parent) parent.hasChildren = true;
    const pairName = attrs.find((a) => keys.isPairName(a.name) && keys.isSecret(a.value));
    for (const a of attrs) {
      if ((keys.isSecret(a.name) || (pairName && keys.isPairValue(a.name))) && a.end > a.start) out.push({ start: a.start, end: a.end });
    }
    attrs = [];
    stack.push({ name: localName(t.name), contentStart: parser.position, hasChildren: false, text: '', pairSecret: false, ownPair: pairName !== undefined });
  });
  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('cdata', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('closetag', (t) => {
    const el = stack.pop();
    if (!el) return;
    const parent = stack[stack.length - 1];
    if (t.isSelfClosing || el.hasChildren) return;
    if (parent && keys.isPairName(el.name) && keys.isSecret(el.text.trim())) parent.pairSecret = true;
    const secret = keys.isSecret(el.name) || el.ownPair || (parent?.pairSecret === true && keys.isPairValue(el.name));
    if (!secret) return;
    let start = el.contentStart;
    let end = text.lastIndexOf('</', parser.position - 1);
    while (start < end && isSpace(text.charCodeAt(start))) start++;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    if (end > start) out.push({ start, end });
  });
  try {
    parser.write(text).close();
  } catch {
    return undefined;
  }
  return failed ? undefined : out;
}

/**
 * Parsing the small YAML/JSON files users write (configuration, incident files). Syntax errors
 * give a position and never the text around it: the engines' messages quote the input, which may
 * hold a value.
 */
import { createRequire } from 'node:module';

// yaml (CommonJS, ~25 ms to load) is required on first YAML file only: JSON needs none of it.
const require = createRequire(import.meta.url);

/**
 * Parses YAML or JSON text into plain data.
 * @param shown the file name for messages
 * @param fail makes the error to throw from a message (`FILE:LINE:COL: problem`, 1-based)
 */
export function parseDataText(text: string, format: 'yaml' | 'json', shown: string, fail: (message: string) => Error): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const pos = /position (\d+)/.exec((err as Error).message)?.[1];
      if (pos === undefined) throw fail(`${shown}: not valid JSON`);
      const before = text.slice(0, Number(pos));
      throw fail(`${shown}:${before.split('\n').length}:${Number(pos) - before.lastIndexOf('\n')}: not valid JSON`);
    }
  }
  const { LineCounter, parseDocument } = require('yaml') as typeof import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const at = lineCounter.linePos(err.pos[0]);
    throw fail(`${shown}:${at.line}:${at.col}: ${err.code === 'DUPLICATE_KEY' ? 'duplicate key' : `not valid YAML (${err.code})`}`);
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

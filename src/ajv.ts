/**
 * ajv, loaded on first use. Its module takes ~50 ms to load, and most runs validate nothing
 * (no config file, no baseline, no user pattern file), so start-up should not pay for it.
 */
import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';

const require = createRequire(import.meta.url);

/** A new ajv instance (ajv is CommonJS, so it can be required synchronously where needed). */
export function newAjv(options: Options): Ajv {
  const mod = require('ajv') as typeof import('ajv');
  return new mod.Ajv(options);
}

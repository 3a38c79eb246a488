/** Validates a manifest against the shipped JSON Schema (schema/manifest.schema.json). */
import { readFileSync } from 'node:fs';
import { newAjv } from './ajv.js';
import type { ValidateFunction } from 'ajv';

let validate: ValidateFunction | undefined;

/** Returns one line per schema violation (empty when valid). */
export function validateManifest(data: unknown): string[] {
  // Compiled on first use, not at import: ajv compilation was ~90 ms of every start-up.
  if (!validate) {
    const schema = JSON.parse(readFileSync(new URL('../schema/manifest.schema.json', import.meta.url), 'utf8')) as object;
    // `format` keywords are documentation here; ajv-formats is not needed for the checks that matter.
    validate = newAjv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
  }
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}

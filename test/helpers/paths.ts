import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES = path.join(ROOT, 'fixtures');
export const SAMPLE = path.join(FIXTURES, 'sample-incident');
export const BIN = path.join(ROOT, 'bin', 'aliscrub.js');

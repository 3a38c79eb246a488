#!/usr/bin/env node
// Thin launcher: all behaviour, including exit codes, lives in dist/cli.js (built by `npm run build`).
import { main } from '../dist/cli.js';

await main();

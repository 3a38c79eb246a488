#!/usr/bin/env node
// `npm run demo`: packs the bundled sample incident into out/sample-incident.zip, prints the
// summary, then verifies the bundle. Uses the built CLI exactly as a user would.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const bin = path.join(root, 'bin', 'aliscrub.js');
const out = path.join(root, 'out', 'sample-incident.zip');
mkdirSync(path.dirname(out), { recursive: true });

const run = (args) => spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });

// The incident file adds TICKET.md (English and Chinese) to the bundle, built from the manifest.
const incident = 'fixtures/incidents/p0-cn-production-down.yaml';
console.log(`$ aliscrub pack fixtures/sample-incident --incident ${incident} --out out/sample-incident.zip --force`);
const packed = run(['pack', 'fixtures/sample-incident', '--incident', incident, '--out', 'out/sample-incident.zip', '--force']);
// Exit 1 would mean some input was left out of the bundle (listed in the manifest); still a bundle.
if (packed.status !== 0 && packed.status !== 1) process.exit(packed.status ?? 2);

console.log('\n$ aliscrub verify out/sample-incident.zip');
const verified = run(['verify', 'out/sample-incident.zip']);
console.log(`\nOpen ${path.relative(process.cwd(), out) || out}: evidence/ holds the scrubbed files, TICKET.md the ticket draft, REDACTIONS.md the summary, manifest.json the record.`);
process.exit(verified.status ?? 2);

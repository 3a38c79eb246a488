#!/usr/bin/env node
// Bulk throughput of `aliscrub archive` (npm run bench:bulk [-- options]): generates a
// multi-incident tree with fixtures/bulk/make.mjs, runs the built CLI on it (cold: new output and
// state), then again unchanged (resume: should do no work), and prints incidents/min and MB/s.
//
//   --incidents N        incidents in the tree (default 20; 4 fixed ones + N-4 generated)
//   --kb-per-incident K  size of each generated incident (default 2000)
//   --jobs N             archive --jobs (default 2)
//   --keep               keep bench/out/bulk/ afterwards
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBulkFixture } from '../fixtures/bulk/make.mjs';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: '20' },
    'kb-per-incident': { type: 'string', default: '2000' },
    jobs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const work = path.join(ROOT, 'bench', 'out', 'bulk'); // git-ignored
fs.rmSync(work, { recursive: true, force: true });
const tree = path.join(work, 'tree');
await makeBulkFixture(tree, { incidents: Number(values.incidents), kbPerIncident: Number(values['kb-per-incident']) });

function sizeOf(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, c) => n + sizeOf(path.join(p, c)), 0);
}
const bytes = sizeOf(tree) - fs.statSync(path.join(tree, 'README.txt')).size;
const incidents = fs.readdirSync(tree).filter((n) => n !== 'README.txt').length;

function run(label) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'aliscrub.js'), 'archive', tree, '--out', path.join(work, 'out'), '--state', path.join(work, 'state'), '--jobs', values.jobs, '-q'], {
    encoding: 'utf8',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 1) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  return { label, secs, code: r.status };
}

const cold = run('cold');
const warm = run('unchanged rerun');
const mb = bytes / 1e6;
process.stdout.write(`tree: ${incidents} incidents, ${mb.toFixed(1)} MB (${tree})\n`);
for (const r of [cold, warm]) {
  process.stdout.write(
    `${r.label.padEnd(16)} ${r.secs.toFixed(2).padStart(7)} s  ${((incidents / r.secs) * 60).toFixed(1).padStart(8)} incidents/min  ${(mb / r.secs).toFixed(2).padStart(7)} MB/s  exit ${r.code}\n`,
  );
}
if (!values.keep) fs.rmSync(work, { recursive: true, force: true });

/**
 * Start-up cost: `scan` of a plain log file, and `--help`, load none of the parsers and helpers
 * that only other inputs or commands need (YAML/JSON/XML parsers, globbing, progress bars,
 * GB18030 encoding, archives, zip, schema validation). Each of them costs tens of milliseconds
 * of start-up; they are loaded where they are used (src/cli.ts, src/structure/formats.ts, ...).
 * Runs the built CLI (dist/, as the other binary tests do) in a child process and lists the
 * CommonJS modules it loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

const LAZY = ['yaml', 'saxes', 'fast-glob', 'micromatch', 'cli-progress', 'iconv-lite', 'unzipper', 'tar-stream', 'ajv'];

const SCRIPT = `
import { createRequire } from 'node:module';
const { main } = await import(process.env.ALISCRUB_CLI);
process.argv = [process.argv[0], 'aliscrub', ...JSON.parse(process.env.ALISCRUB_ARGS)];
await main();
const cache = createRequire(process.cwd() + '/').cache;
process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(cache)) + '\\n');
`;

function run(args: string[], cwd: string): { status: number | null; stdout: string; packages: string[] } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ALISCRUB_CLI: pathToFileURL(path.join(ROOT, 'dist', 'cli.js')).href, ALISCRUB_ARGS: JSON.stringify(args) },
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  expect(line, r.stderr).toBeDefined();
  const files = JSON.parse(line!.slice('LOADED '.length)) as string[];
  const packages = new Set<string>();
  for (const f of files) {
    const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(f);
    if (m) packages.add(m[1]!.replace(/\\/g, '/'));
  }
  return { status: r.status, stdout: r.stdout, packages: [...packages] };
}

describe('start-up', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-startup-'));
  writeFileSync(path.join(dir, 'app.log'), 'GET /healthz 200\nkey LTAI5tQ8mZr2XbK9vNc4Wd7P\n');

  it('scan of one log file loads no parser, glob, progress, encoding, archive or schema module', () => {
    const r = run(['scan', 'app.log'], dir);
    expect(r.stdout).toContain('alibaba-access-key-id');
    expect(r.packages.filter((p) => LAZY.includes(p))).toEqual([]);
  });

  it('--help loads none of them either', () => {
    const r = run(['--help'], dir);
    expect(r.stdout).toContain('aliscrub <command>');
    expect(r.packages.filter((p) => LAZY.includes(p))).toEqual([]);
  });

  it('they are still loaded where needed: a YAML file and a folder', () => {
    writeFileSync(path.join(dir, 'config.yaml'), 'password: hunter2-very-secret\n');
    const r = run(['scan', '.'], dir);
    expect(r.packages).toEqual(expect.arrayContaining(['yaml', 'fast-glob']));
  });
});

/**
 * Flags that take one value: given twice, yargs turns them into an array, which used to crash deep
 * inside a command (`The "paths[1]" argument must be of type string`, `v.trim is not a function`).
 * Every such repetition is a usage error naming the flag (exit 2) before any work is done;
 * repeatable flags (--exclude, --patterns, --keep, ...) still repeat.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const SECRET = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';

/** A working folder with an input tree `in/` and an empty `out/`. */
function workdir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-flags-'));
  mkdirSync(path.join(d, 'in', 'inc1'), { recursive: true });
  mkdirSync(path.join(d, 'out'));
  writeFileSync(path.join(d, 'in', 'inc1', 'app.log'), `key=${SECRET}\n`);
  writeFileSync(path.join(d, 'key'), Buffer.alloc(32, 1));
  writeFileSync(path.join(d, 'reply.txt'), 'hello\n');
  return d;
}

const CASES: Array<[string, string[]]> = [
  ['--out', ['pack', 'in', '--out', 'out/a.zip', '--out', 'out/b.zip']],
  ['--level', ['pack', 'in', '--out', 'out/a.zip', '--level', '1', '--level', '2']],
  ['--out-dir', ['redact', 'in', '--out-dir', 'out/a', '--out-dir', 'out/b']],
  ['--max-part-size', ['archive', 'in', '--out', 'out/arch', '--state', 'out/state', '--max-part-size', '1MB', '--max-part-size', '2MB']],
  ['--jobs', ['archive', 'in', '--out', 'out/arch', '--state', 'out/state', '--jobs', '1', '--jobs', '2']],
  ['--output', ['scan', 'in', '-o', 'out/r.txt', '--output', 'out/s.txt']],
  ['--format', ['scan', 'in', '--format', 'json', '--format', 'text']],
  ['--fail-on', ['scan', 'in', '--fail-on', 'pii', '--fail-on', 'secret']],
  ['--max-file-size', ['scan', 'in', '--max-file-size', '1MB', '--max-file-size', '2MB']],
  ['--max-archive-depth', ['scan', 'in', '--max-archive-depth', '1', '--max-archive-depth', '2']],
  ['--concurrency', ['scan', 'in', '--concurrency', '1', '--concurrency', '2']],
  ['--key-file', ['scan', 'in', '--key-file', 'key', '--key-file', 'key']],
  ['--encoding', ['scan', 'in', '--encoding', 'utf-8', '--encoding', 'gbk']],
  ['--images', ['scan', 'in', '--images', 'skip', '--images', 'strip']],
  ['--config', ['scan', 'in', '--config', 'a.json', '--config', 'b.json']],
  ['--output', ['baseline', 'create', 'in', '-o', 'out/b1.json', '-o', 'out/b2.json']],
  ['--incident', ['unmask', 'reply.txt', '--incident', 'a', '--incident', 'b', '--state', 'out/state']],
  ['--now', ['sla', 'x.yaml', '--now', '2025-01-01T00:00:00Z', '--now', '2025-01-02T00:00:00Z']],
];

describe('a single-value flag given twice', () => {
  for (const [flag, argv] of CASES) {
    it(`${argv[0]} ${flag}: usage error naming the flag, exit 2, nothing written`, async () => {
      const d = workdir();
      const r = await cli(argv, { cwd: d });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`aliscrub: ${flag}: given more than once\n`);
      expect(r.stdout).toBe('');
      expect(readdirSync(path.join(d, 'out'))).toEqual([]); // no output, no staging folder, no state
    });
  }
});

describe('repeatable flags still repeat', () => {
  it('--exclude, --keep and --only may be given more than once', async () => {
    const d = workdir();
    const r = await cli(['scan', 'in', '--exclude', '**/*.bak', '--exclude', '**/*.tmp', '--keep', 'pii', '--keep', 'private-ips', '--only', 'alibaba-access-key-id', '--only', 'email-address'], { cwd: d });
    expect(r.stderr).not.toContain('more than once');
    expect(r.code).toBe(1); // the planted key is found
  });

  it('a switch (boolean) given twice is not an error: yargs keeps one value, nothing can trip over it', async () => {
    const d = workdir();
    const r = await cli(['scan', 'in', '--quiet', '-q'], { cwd: d });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toContain('more than once');
  });

  it('pack with each single-value flag once works', async () => {
    const d = workdir();
    const r = await cli(['pack', 'in', '--out', 'out/a.zip', '--level', '1', '--max-file-size', '1MB', '--key-file', 'key', '--quiet'], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(d, 'out'))).toEqual(['a.zip']);
  });
});

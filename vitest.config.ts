import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-tmp.ts'],
    // The CLI tests spawn the built binary and the bundle tests write zips: give them time on a
    // shared 2-core machine. No test asserts on speed (benchmarks live in bench/).
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

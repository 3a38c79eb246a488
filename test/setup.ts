/**
 * Property tests run with a fixed fast-check seed so that CI is reproducible: a failure is the same
 * failure on every machine. Explore other inputs locally with `FC_SEED=<n> npm test` (and
 * `FC_RUNS=<n>` for more runs); a counterexample found that way becomes a regression example.
 */
import fc from 'fast-check';

const seed = process.env['FC_SEED'] ? Number(process.env['FC_SEED']) : 20251126;
const numRuns = process.env['FC_RUNS'] ? Number(process.env['FC_RUNS']) : undefined;
fc.configureGlobal({ seed, ...(numRuns ? { numRuns } : {}) });

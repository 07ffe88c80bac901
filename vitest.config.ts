import { defineConfig } from 'vitest/config';

// Tests import workspace packages through the "dream-source" export condition, so they run
// against src/*.ts directly; daemons spawned as child processes run the built dist/ (scripts/test.sh
// builds first).
export default defineConfig({
  resolve: { conditions: ['dream-source'] },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Network tests start real daemons on loopback; two cores, so keep parallelism modest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

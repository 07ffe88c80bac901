import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name (@dream/config, ...). Without help, vitest treats those
// symlinked packages as external and Node loads their built dist/, so a test can pass against stale
// code. Aliasing each name to its src/index.ts makes every test run the source as it is now.
// Daemons spawned as child processes still run dist/: scripts/test.sh builds first.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias = Object.fromEntries(
  readdirSync(packagesDir).map((name) => [`@dream/${name}`, `${packagesDir}${name}/src/index.ts`]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Network tests start real daemons and peers on loopback; two cores, so keep parallelism modest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

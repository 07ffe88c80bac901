import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name (@dream/config, ...). Without help, vitest treats those
// symlinked packages as external and Node loads their built dist/, so a test can pass against stale
// code. Aliasing each name (and each subpath export, such as @dream/catalog/client) to the source
// its package.json names under the `dream-source` condition makes every test run the source as it
// is now. Daemons spawned as child processes still run dist/: scripts/test.sh builds first.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias = readdirSync(packagesDir).flatMap((name) => {
  const manifest = JSON.parse(readFileSync(`${packagesDir}${name}/package.json`, 'utf8')) as {
    exports: Record<string, { 'dream-source': string }>;
  };
  return Object.entries(manifest.exports).map(([subpath, targets]) => ({
    // Exact match: '@dream/catalog' must not also capture '@dream/catalog/client'.
    find: new RegExp(`^@dream/${name}${subpath.slice(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    replacement: `${packagesDir}${name}/${targets['dream-source'].replace(/^\.\//, '')}`,
  }));
});

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

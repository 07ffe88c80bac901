// Bundles dream-cli into one file, packages/cli/dist/dream-cli.mjs, after `tsc -b` (`pnpm build`).
//
// Why: `dream-cli stream` is timed from the user's command (issue 4), and every command pays Node's
// module loading: resolving and reading ~40 files of the CLI, its workspace packages, commander and
// smol-toml cost ~50 ms of a ~250 ms start on the CI machine (the rest is Node itself). One file
// starts in ~200 ms. Only the CLI is bundled: the daemons start once and keep running.
//
// The input is tsc's output (so the bundle is exactly the code the type-checker saw), the output a
// separate file that every build rewrites: tsc -b never re-emits a file it did not change, so
// bundling over its own output would leave stale code behind. The bundle sits in dist/ beside
// daemons.js, which finds the daemons' bins relative to its own directory.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'cli');

await build({
  entryPoints: [join(cli, 'dist', 'bin', 'dream-cli.js')],
  outfile: join(cli, 'dist', 'dream-cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: its require() of Node built-ins needs a real require in an ES module.
  banner: {
    js: "import { createRequire as __dreamCreateRequire } from 'node:module';\nconst require = __dreamCreateRequire(import.meta.url);",
  },
});

// dream-cli starts in the time it takes Node to start plus one file: `dream-cli stream` is timed from
// the user's command (issue 4), and every command pays the start-up. Importing a package's index
// pulled in fastify, Elasticsearch's client, pino and the wire protocol (~550 ms on the CI machine);
// the CLI imports the light entries (`@dream/catalog/client`, `@dream/dht/client`,
// `@dream/torrent-engine/metainfo` and `/create`) and the config package loads pino lazily. `pnpm
// build` then bundles what is left (the CLI, those entries, commander, smol-toml) into
// dist/dream-cli.mjs, the package's bin (scripts/bundle-cli.mjs): ~40 files resolved and read cost
// ~50 ms. The figure is in `pnpm bench streaming`; this test guards the cause, what loads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = new URL('../dist/dream-cli.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dream-cli-startup-'));

/** Third-party packages `dream-cli <args>` resolves while it runs, from a resolve hook's log. */
function packagesLoaded(...args: string[]): { packages: string[]; status: number | null } {
  const log = join(dir, `loaded-${args.join('_').replace(/\W/g, '')}.txt`);
  writeFileSync(log, '');
  const hook = join(dir, 'hook.mjs');
  const hookBody = [
    `import { appendFileSync } from 'node:fs';`,
    'export async function resolve(specifier, context, next) {',
    '  const r = await next(specifier, context);',
    `  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');`,
    '  return r;',
    '}',
  ].join('\n');
  const register = join(dir, 'register.mjs');
  writeFileSync(hook, hookBody);
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), DREAM_CONFIG: '' },
  });
  const packages = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    // .../node_modules/.pnpm/<name@version>/node_modules/<name or @scope/name>/...
    const m = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1] && m[1] !== '.pnpm') packages.add(m[1]);
  }
  return { packages: [...packages].sort(), status: r.status };
}

describe('dream-cli start-up', () => {
  it('is the bundle: resolves no package from node_modules (commander and smol-toml are inside)', () => {
    const version = packagesLoaded('--version');
    expect(version.status).toBe(0);
    expect(version.packages).toEqual([]);
  });

  it('`stream --help` loads no more (all commands are registered at start-up)', () => {
    const help = packagesLoaded('stream', '--help');
    expect(help.status).toBe(0);
    expect(help.packages).toEqual([]);
  });

  it('the bundle holds the argument parser and the TOML reader, and no server or protocol library', () => {
    const map = JSON.parse(readFileSync(`${bin}.map`, 'utf8')) as { sources: string[] };
    const bundled = new Set<string>();
    for (const source of map.sources) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(
        source.replace(/.*node_modules\/\.pnpm\/[^/]+\//, ''),
      );
      if (m?.[1]) bundled.add(m[1]);
    }
    expect([...bundled].sort()).toEqual(['commander', 'smol-toml']);
  });

  it("is the package's bin", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(new URL(pkg.bin['dream-cli']!, new URL('../', import.meta.url)).pathname).toBe(bin);
  });
});

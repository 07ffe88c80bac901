/** dream-catalog, the bootstrap node's stand-alone catalog service, run as a real process (dist/). */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogClient, generateSigningKey } from '@dream/catalog';
import { afterAll, describe, expect, it } from 'vitest';
import { entry, tempDir } from './helpers.js';

const BIN = new URL('../dist/bin/dream-catalog.js', import.meta.url).pathname;
const running: ChildProcess[] = [];
afterAll(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(args: string[]): { child: ChildProcess; port: Promise<number>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^listening \S+ (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`dream-catalog exited ${code}: ${err}`)));
  });
  port.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port, exit };
}

describe('dream-catalog', () => {
  it('serves the catalog on 127.0.0.1 from its state dir, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir('bin');
    const config = join(dir, 'config.toml');
    writeFileSync(config, `[general]\nstate_dir = "${join(dir, 'state')}"\n`);
    const { child, port, exit } = start(['--config', config, '--port', '0', '--log-level', 'warn']);
    const p = await port;
    const health = await fetch(`http://127.0.0.1:${p}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    const client = new CatalogClient({ baseUrl: `http://127.0.0.1:${p}` });
    const e = entry(generateSigningKey(), 1, 'Cosmos: A Spacetime Odyssey');
    expect((await client.add(e)).result).toBe('created');
    expect((await client.search('cosmos spacetime')).results[0]?.entry.infohash).toBe(e.infohash);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 on a bad argument and 78 on a bad config, before binding', async () => {
    expect(await start(['--port', 'seventy']).exit).toBe(2);
    const dir = tempDir('badcfg');
    const config = join(dir, 'config.toml');
    writeFileSync(config, '[catalog]\nbackend = "elastic"\n');
    expect(await start(['--config', config, '--port', '0']).exit).toBe(78);
  });
});

describe('the package entry', () => {
  // Every daemon imports @dream/catalog (dream-torrent serves the catalog routes); the Elasticsearch
  // client is for bootstrap operators only and costs ~250 ms and ~13 MiB to load. openCatalogStore
  // imports it on demand; a value re-export in index.ts loaded it everywhere, unseen.
  it('does not load the Elasticsearch client until the elasticsearch backend is opened', async () => {
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const script = `import(${JSON.stringify(entry)}).then(() => {
      const loaded = Object.keys(require.cache).filter((p) => p.includes('@elastic'));
      process.stdout.write(JSON.stringify(loaded));
    });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([]);
  });
});

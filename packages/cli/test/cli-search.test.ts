// dream-cli search against a real catalog service (the dream-catalog server in-process, on a
// loopback socket, with the embedded store), and the errors a user meets.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCatalogServer,
  CatalogClient,
  generateSigningKey,
  openEmbeddedStore,
  signEntry,
} from '@dream/catalog';
import { EXIT } from '@dream/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './fixtures/dream-node.js';

const bin = new URL('../dist/dream-cli.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dream-cli-search-'));
let close: () => Promise<void> = async () => {};
let config = '';

// Asynchronous on purpose: the catalog server lives in this process and must keep answering.
const run = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, DREAM_CONFIG: '' } },
      (err, stdout, stderr) =>
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const cli = (...args: string[]) => run(['--config', config, ...args]);

beforeAll(async () => {
  const store = await openEmbeddedStore({ stateDir: join(dir, 'catalog-state') });
  const app = await buildCatalogServer(store);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  close = async () => {
    await app.close();
    await store.close();
  };
  const client = new CatalogClient({ baseUrl: url });
  const key = generateSigningKey();
  for (const [i, title] of [
    'Interstellar',
    'The Interstellar Wars',
    'Amélie',
    'Night of the Living Dead',
  ].entries()) {
    const infohash = String(i + 1)
      .repeat(40)
      .slice(0, 40);
    await client.add(
      signEntry(key, {
        infohash,
        title,
        magnet: `magnet:?xt=urn:btih:${infohash}`,
        files: [{ path: `${title}.mp4`, size: 1e6 * (i + 1) }],
      }),
    );
  }
  config = join(dir, 'config.toml');
  writeFileSync(
    config,
    `[general]\nstate_dir = ${JSON.stringify(join(dir, 'state'))}\n[network]\ncatalog_url = "${url}"\n`,
  );
});
afterAll(() => close());

describe('dream-cli search', () => {
  it('finds a title despite a typo, best match first', async () => {
    const r = await cli('search', 'interstelar');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*1\. Interstellar\s/);
    expect(r.stdout).toContain('The Interstellar Wars');
  });

  it('--json gives the raw results for scripts', async () => {
    const r = await cli('--json', 'search', 'amelie');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).results[0].entry.title).toBe('Amélie');
  });

  it('nothing found: exit 4 and what was searched', async () => {
    const r = await cli('search', 'zzqx', 'nonexistent');
    expect(r.status).toBe(EXIT.notFound);
    expect(r.stderr).toContain('No video matches "zzqx nonexistent"');
  });

  it('catalog unreachable: exit 6 and where to fix it', async () => {
    const dead = join(dir, 'dead.toml');
    writeFileSync(dead, `[network]\ncatalog_url = "http://127.0.0.1:${await freePort()}"\n`);
    const r = await run(['--config', dead, 'search', 'x']);
    expect(r.status).toBe(EXIT.catalogUnreachable);
    expect(r.stderr).toContain('cannot be reached');
    expect(r.stderr).toContain('network.catalog_url');
  });

  it('shows only entries a catalog service would accept, whatever a catalog sends', async () => {
    // A loopback server answering like a broken or hostile catalog; a real one refuses these.
    const key = generateSigningKey();
    const entry = (c: string, title: string, magnetHash = c.repeat(40)) =>
      signEntry(key, {
        infohash: c.repeat(40),
        title,
        magnet: `magnet:?xt=urn:btih:${magnetHash}`,
        files: [{ path: 'film.mp4', size: 1000 }],
      });
    const sent = [
      entry('a', 'Heist film'),
      { ...entry('b', 'Heist film'), title: 'Heist film (retitled after signing)' },
      entry('c', 'Heist film, another torrent', 'd'.repeat(40)),
      null,
    ];
    const hostile = http.createServer((_req, res) =>
      res.end(JSON.stringify({ total: sent.length, results: sent.map((e) => ({ entry: e, score: 1 })) })),
    );
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
    try {
      const cfg = join(dir, 'hostile.toml');
      writeFileSync(
        cfg,
        `[network]\ncatalog_url = "http://127.0.0.1:${(hostile.address() as AddressInfo).port}"\n`,
      );
      const r = await run(['--config', cfg, '--json', 'search', 'heist']);
      expect(r.status, r.stderr).toBe(0);
      const results = JSON.parse(r.stdout).results as { entry: { infohash: string; title: string } }[];
      expect(results.map((x) => [x.entry.infohash, x.entry.title])).toEqual([['a'.repeat(40), 'Heist film']]);
    } finally {
      hostile.close();
    }
  });
});

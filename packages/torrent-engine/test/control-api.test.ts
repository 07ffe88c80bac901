// The control API through fastify's inject (no socket): every route, every error code, the Host
// check. The engine behind it is real (listener on loopback, storage in a temp dir).
import { open, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '@dream/config';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildControlServer } from '../src/control-api/index.js';
import { createTorrent } from '../src/create/index.js';
import { Engine } from '../src/engine/engine.js';
import { ENGINE_ERROR_CODES } from '../src/engine/errors.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';

const log = createLogger({ name: 'control-api-test', level: 'silent' });
let dir: string;
let engine: Engine;
let app: FastifyInstance;
let torrent: Buffer;
let infohash: string;
const seen = new Set<string>();

async function call(
  method: string,
  url: string,
  body?: unknown,
  host = '127.0.0.1:6882',
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: { host, ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
  const json = res.body ? (JSON.parse(res.body) as Record<string, any>) : undefined;
  if (json?.error) seen.add(json.error.code);
  return { status: res.statusCode, json };
}

beforeAll(async () => {
  dir = await makeTempDir('dream-api-');
  await makeFiles(join(dir, 'src'), [
    { path: 'album/a.flac', size: 300_000 },
    { path: 'album/b.flac', size: 200_000 },
  ]);
  const made = await makeTorrent({ source: join(dir, 'src', 'album') });
  // The same bytes already in the output dir: the torrent checks them and seeds; deleteData removes them.
  await makeFiles(join(dir, 'out'), [
    { path: 'album/a.flac', size: 300_000 },
    { path: 'album/b.flac', size: 200_000 },
  ]);
  torrent = Buffer.from(made.torrent);
  infohash = made.infoHash;
  engine = await Engine.start({
    outputDir: join(dir, 'out'),
    resumeDir: join(dir, 'state'),
    host: '127.0.0.1',
    port: 0,
    maxConnections: 10,
    log,
    trackers: false,
  });
  app = await buildControlServer(engine, { bindHost: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await engine?.stop();
  await removeDir(dir);
});

/** A well-formed `hashed`, for the error cases around it. */
const HASHED = { have: '', files: [] };

describe('control API', () => {
  it('answers health', async () => {
    const r = await call('GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, port: engine.port });
  });

  it('refuses foreign Host headers (DNS rebinding) and accepts loopback names', async () => {
    expect((await call('GET', '/api/health', undefined, 'evil.example:6882')).status).toBe(403);
    expect((await call('GET', '/api/health', undefined, 'evil.example')).json?.error.code).toBe(
      'forbidden-host',
    );
    expect((await call('GET', '/api/health', undefined, 'localhost:6882')).status).toBe(200);
    expect((await call('GET', '/api/health', undefined, '[::1]:6882')).status).toBe(200);
  });

  it('refuses requests a page on another origin sends (cross-site), answers its own pages', async () => {
    // Each is what a browser sends for a page on that origin (test/control-api-browser.test.ts has
    // the real browser); the route is never reached, whether the torrent exists or not.
    const fromPage = (origin: string, host = '127.0.0.1:6882') =>
      call('POST', `/api/torrents/${'ab'.repeat(20)}/pause`, undefined, host, { origin });
    for (const origin of [
      'http://evil.example',
      'null', // sandboxed frames, data: URLs, some redirects
      'http://127.0.0.1:6881', // another local port is another site's server
      'https://127.0.0.1:6882',
      'http://127.0.0.1:6882.evil.example',
      'not a URL',
    ]) {
      const r = await fromPage(origin);
      expect(r.status, origin).toBe(403);
      expect(r.json?.error.code, origin).toBe('forbidden-origin');
      expect(r.json?.error.message, origin).toContain('may not use the control API');
    }
    // Same origin (a page this server serves) and no Origin at all (dream-cli) reach the route.
    expect((await fromPage('http://127.0.0.1:6882')).json?.error.code).toBe('not-found');
    expect((await fromPage('http://LOCALHOST:6882', 'localhost:6882')).json?.error.code).toBe('not-found');
    expect((await fromPage('http://[::1]:6882', '[::1]:6882')).json?.error.code).toBe('not-found');
    expect((await call('POST', `/api/torrents/${'ab'.repeat(20)}/pause`)).json?.error.code).toBe('not-found');
  });

  it('adds a .torrent (base64), lists it, details it', async () => {
    const r = await call('POST', '/api/torrents', { torrent: torrent.toString('base64'), paused: true });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ infohash, name: 'album', state: 'paused' });
    const list = await call('GET', '/api/torrents');
    expect(list.json?.torrents.map((t: { infohash: string }) => t.infohash)).toEqual([infohash]);
    const d = await call('GET', `/api/torrents/${infohash}`);
    expect(d.status).toBe(200);
    expect(d.json?.files.map((f: { path: string }) => f.path)).toEqual(['album/a.flac', 'album/b.flac']);
    expect(typeof d.json?.bitfield).toBe('string');
    expect((await call('GET', `/api/torrents/${infohash.toUpperCase()}`)).status).toBe(200);
  });

  it('selects files, pauses, resumes, adds peers', async () => {
    const sel = await call('PUT', `/api/torrents/${infohash}/files`, { selected: [1] });
    expect(sel.status).toBe(200);
    expect(sel.json?.files.map((f: { selected: boolean }) => f.selected)).toEqual([false, true]);
    // By path, as a client knows files from the stream listing.
    const byPath = await call('PUT', `/api/torrents/${infohash}/files`, { paths: ['album/a.flac'] });
    expect(byPath.json?.files.map((f: { selected: boolean }) => f.selected)).toEqual([true, false]);
    expect((await call('PUT', `/api/torrents/${infohash}/files`, { selected: 'all' })).status).toBe(200);
    expect((await call('POST', `/api/torrents/${infohash}/resume`)).json?.state).toMatch(
      /seeding|downloading|checking/,
    );
    expect((await call('POST', `/api/torrents/${infohash}/pause`)).json?.state).toBe('paused');
    const peers = await call('POST', `/api/torrents/${infohash}/peers`, {
      peers: ['127.0.0.1:1', { host: '::1', port: 2 }],
    });
    expect(peers.json).toEqual({ added: 2 });
    expect(
      (await call('POST', `/api/torrents/${infohash}/peers`, { host: '127.0.0.1', port: 3 })).json,
    ).toEqual({ added: 1 });
  });

  it("seeds in place on the caller's hashing: trusted where files are unchanged, hashed where not", async () => {
    // dream-cli upload hashes the video (with a progress bar) and passes what it found as `hashed`,
    // so the daemon does not read the whole file again. Trust is resume data's: per file, only
    // while size and mtime are as recorded. To see which pieces were read, both files are damaged
    // after hashing: a.bin with its mtime put back (the engine must not notice: it did not read
    // it), b.bin with a new mtime (its pieces must be hashed, and fail).
    const content = join(dir, 'hashed');
    await makeFiles(content, [
      { path: 'a.bin', size: 4 * 16_384 },
      { path: 'b.bin', size: 4 * 16_384 },
    ]);
    const past = new Date(Date.now() - 3_600_000);
    for (const f of ['a.bin', 'b.bin']) await utimes(join(content, f), past, past);
    const made = await createTorrent(content, { pieceLength: 16_384 });
    const damage = async (name: string) => {
      const fh = await open(join(content, name), 'r+');
      await fh.write(Buffer.from('damaged'), 0, 7, 100);
      await fh.close();
    };
    await damage('a.bin');
    await utimes(join(content, 'a.bin'), past, past);
    await damage('b.bin');

    const hashed = { have: made.resume.have, files: made.resume.files };
    const r = await call('POST', '/api/torrents', {
      torrent: Buffer.from(made.torrent).toString('base64'),
      path: content,
      hashed,
    });
    expect(r.status).toBe(201);
    const d = await call('GET', `/api/torrents/${made.meta.infohash}`);
    const files = (d.json?.files ?? []) as { path: string; bytes: number }[];
    const bytes = files.map((f) => [f.path, f.bytes]);
    expect(bytes).toEqual([
      ['hashed/a.bin', 4 * 16_384],
      ['hashed/b.bin', 3 * 16_384],
    ]);
    expect(d.json?.contentPath).toBe(content);
    expect((await call('DELETE', `/api/torrents/${made.meta.infohash}`)).status).toBe(204);
  });

  it('answers each error with its documented code and status', async () => {
    const cases: [string, string, unknown, string][] = [
      [
        'POST',
        '/api/torrents',
        { torrent: Buffer.from('d4:infoi1ee').toString('base64') },
        'invalid-torrent',
      ],
      ['POST', '/api/torrents', { torrent: '***' }, 'invalid-torrent'],
      ['POST', '/api/torrents', { magnet: 'magnet:?xt=urn:sha1:zzz' }, 'invalid-magnet'],
      ['POST', '/api/torrents', { infohash: '1234' }, 'invalid-infohash'],
      ['POST', '/api/torrents', { path: join(dir, 'nope') }, 'path-not-found'],
      ['POST', '/api/torrents', { magnet: 'x', infohash: 'y' }, 'bad-request'],
      ['POST', '/api/torrents', [1, 2], 'bad-request'],
      ['POST', '/api/torrents', { infohash, durationSeconds: -5 }, 'bad-request'],
      ['POST', '/api/torrents', { infohash, durationSeconds: '90' }, 'bad-request'],
      ['POST', '/api/torrents', { infohash, durationSeconds: 1e9 }, 'bad-request'],
      ['POST', '/api/torrents', { torrent: torrent.toString('base64') }, 'already-added'],
      ['GET', `/api/torrents/${'0'.repeat(40)}`, undefined, 'not-found'],
      ['GET', '/api/nothing', undefined, 'not-found'],
      ['PUT', `/api/torrents/${infohash}/files`, { selected: [7] }, 'invalid-selection'],
      ['PUT', `/api/torrents/${infohash}/files`, { selected: 'some' }, 'invalid-selection'],
      ['PUT', `/api/torrents/${infohash}/files`, { selected: [-1] }, 'invalid-selection'],
      ['PUT', `/api/torrents/${infohash}/files`, { paths: ['album/c.flac'] }, 'invalid-selection'],
      ['PUT', `/api/torrents/${infohash}/files`, { paths: 'album/a.flac' }, 'invalid-selection'],
      ['POST', '/api/torrents', { infohash: 'e'.repeat(40), selected: [0, -2] }, 'invalid-selection'],
      ['POST', `/api/torrents/${infohash}/peers`, { peers: ['nohost'] }, 'invalid-peer'],
      ['POST', `/api/torrents/${infohash}/peers`, { host: '127.0.0.1', port: 0 }, 'invalid-peer'],
      ['DELETE', `/api/torrents/${infohash}?deleteData=maybe`, undefined, 'bad-request'],
      ['POST', '/api/torrents', { torrent: torrent.toString('base64'), hashed: HASHED }, 'bad-request'],
      [
        'POST',
        '/api/torrents',
        { torrent: torrent.toString('base64'), path: dir, hashed: { have: '%%', files: [] } },
        'bad-request',
      ],
      [
        'POST',
        '/api/torrents',
        { torrent: torrent.toString('base64'), path: dir, hashed: { have: '', files: [{ path: 'a' }] } },
        'bad-request',
      ],
    ];
    for (const [method, url, body, code] of cases) {
      const r = await call(method, url, body);
      expect(r.json?.error?.code, `${method} ${url} ${JSON.stringify(body)}`).toBe(code);
      expect(r.status).toBe(ENGINE_ERROR_CODES[code as keyof typeof ENGINE_ERROR_CODES]);
      expect(typeof r.json?.error?.message).toBe('string');
    }
  });

  it('reports metadata-pending for a magnet whose metadata is unknown', async () => {
    const ih = 'ab'.repeat(20);
    const r = await call('POST', '/api/torrents', { magnet: `magnet:?xt=urn:btih:${ih}&dn=x` });
    expect(r.status).toBe(201);
    expect(r.json?.state).toBe('metadata');
    expect((await call('PUT', `/api/torrents/${ih}/files`, { selected: [0] })).json?.error.code).toBe(
      'metadata-pending',
    );
    expect((await call('DELETE', `/api/torrents/${ih}`)).status).toBe(204);
  });

  it('removes a torrent, deleting its data when asked', async () => {
    // Seed in place by path, then remove keeping data: the original stays.
    const added = await call('POST', '/api/torrents', { path: join(dir, 'src', 'album', 'a.flac') });
    expect(added.status).toBe(201);
    expect(added.json?.state).toBe('seeding');
    expect((await call('DELETE', `/api/torrents/${added.json?.infohash}?deleteData=true`)).status).toBe(204);
    await expect(readFile(join(dir, 'src', 'album', 'a.flac'))).resolves.toBeDefined();
    const created = join(dir, 'out', 'album', 'b.flac');
    await expect(readFile(created)).resolves.toBeDefined();
    expect((await call('DELETE', `/api/torrents/${infohash}?deleteData=true`)).status).toBe(204);
    await expect(readFile(created)).rejects.toThrow();
    expect((await call('GET', '/api/torrents')).json?.torrents).toEqual([]);
  });

  it('has exercised every documented error code but internal and shutting-down', () => {
    const expected = Object.keys(ENGINE_ERROR_CODES).filter(
      (c) => !['internal', 'shutting-down', 'invalid-path'].includes(c),
    );
    expect([...seen].sort()).toEqual(expected.sort());
  });
});

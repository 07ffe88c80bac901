/**
 * The catalog API under hostile input, through fastify inject (no socket), plus one real-socket run
 * through CatalogClient. Every refusal must be a 4xx with a clear { error: { code, message } } and
 * must leave the store unchanged.
 */
import { sign } from 'node:crypto';
import {
  buildCatalogServer,
  CatalogClient,
  CatalogClientError,
  type CatalogEntry,
  type EmbeddedStoreOptions,
  generateSigningKey,
  openEmbeddedStore,
  signDelete,
  signEntry,
} from '@dream/catalog';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryPayload } from '../src/signing.js';
import { entry, hashOf, tempDir } from './helpers.js';

const alice = generateSigningKey();
const bob = generateSigningKey();

type Store = Awaited<ReturnType<typeof openEmbeddedStore>>;
let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  const opts: EmbeddedStoreOptions = { stateDir: tempDir('routes') };
  store = await openEmbeddedStore(opts);
  app = await buildCatalogServer(store, { rateLimit: false });
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const put = (e: unknown, infohash = (e as CatalogEntry).infohash) =>
  app.inject({ method: 'PUT', url: `/entries/${infohash}`, payload: e as object });

async function expectRefused(
  res: { statusCode: number; json: () => unknown },
  status: number,
  code: string,
  message?: RegExp,
): Promise<void> {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  if (message) expect(body.error.message).toMatch(message);
}

/** Sign an entry whose fields were set by hand (bypassing signEntry's normalisation). */
function signRaw(fields: Omit<CatalogEntry, 'signature' | 'publicKey'>, key = alice): CatalogEntry {
  // signEntry normalises the title; to send an unnormalised one (as an attacker would), swap the raw
  // title in and sign the payload directly, so only the title check can refuse it.
  const base = signEntry(key, { ...fields, title: 'placeholder' }, new Date(fields.updatedAt));
  const withRaw = { ...base, title: fields.title, createdAt: fields.createdAt };
  return { ...withRaw, signature: resign(withRaw, key) };
}

function resign(e: Omit<CatalogEntry, 'signature'>, key = alice): string {
  return sign(null, entryPayload(e), key.privateKey).toString('hex');
}

describe('happy path', () => {
  it('add (201), update (200), get, search, recent, delete', async () => {
    const v1 = entry(alice, 1, 'Big Buck Bunny');
    expect((await put(v1)).statusCode).toBe(201);
    const v2 = entry(alice, 1, 'Big Buck Bunny 4K', { createdAt: v1.createdAt }, new Date(Date.now() + 5));
    const res = await put(v2);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ result: 'updated', infohash: v1.infohash });
    expect((await app.inject(`/entries/${v1.infohash}`)).json()).toEqual(v2);
    const found = (await app.inject('/search?q=big%20buk%20bun')).json();
    expect(found.total).toBe(1);
    expect(found.results[0].entry.title).toBe('Big Buck Bunny 4K');
    expect((await app.inject('/recent?limit=5')).json().entries[0].infohash).toBe(v1.infohash);
    const del = signDelete(alice, v1.infohash, new Date(Date.now() + 10));
    const d = await app.inject({ method: 'DELETE', url: `/entries/${v1.infohash}`, payload: del });
    expect(d.statusCode).toBe(200);
    expect(await store.get(v1.infohash)).toBeUndefined();
  });

  it('an entry is served with the fields a client needs to verify it itself', async () => {
    const e = entry(alice, 2, 'Sintel');
    await put(e);
    const got = (await app.inject(`/entries/${e.infohash}`)).json() as CatalogEntry;
    expect(got.signature).toBe(e.signature);
    expect(got.publicKey).toBe(alice.publicKey);
  });
});

describe('hostile writes: 4xx, clear message, nothing stored', () => {
  const n = (i: number) => 10_000 + i;
  const fresh = (i: number, title = `Title ${i}`) => entry(alice, n(i), title);

  const cases: Array<{
    why: string;
    status: number;
    code: string;
    message?: RegExp;
    send: () => Promise<unknown>;
  }> = [
    {
      why: 'empty title',
      status: 400,
      code: 'bad_request',
      send: () => put({ ...fresh(1), title: undefined }),
    },
    {
      why: 'blank title',
      status: 400,
      code: 'invalid_title',
      message: /empty/,
      send: () => {
        const e = fresh(2);
        return put(signRaw({ ...e, title: '' }));
      },
    },
    {
      why: 'title of only zero-width characters',
      status: 400,
      code: 'invalid_title',
      send: () => put(signRaw({ ...fresh(3), title: '\u200B\u200D\uFEFF' })),
    },
    {
      why: 'oversized title',
      status: 400,
      code: 'invalid_title',
      message: /300 characters long, the limit is 256/,
      send: () => put(entry(alice, n(4), 'x'.repeat(300))),
    },
    {
      why: 'title larger than the schema allows',
      status: 400,
      code: 'bad_request',
      message: /title/,
      send: () => put({ ...fresh(5), title: 'y'.repeat(5000) }),
    },
    {
      why: 'bidi override in the title',
      status: 400,
      code: 'invalid_title',
      message: /not normalised/,
      send: () => put(signRaw({ ...fresh(6), title: 'Movie \u202Evik.exe' })),
    },
    {
      why: 'decomposed (NFD) title',
      status: 400,
      code: 'invalid_title',
      message: /NFC/,
      send: () => put(signRaw({ ...fresh(7), title: 'Ame\u0301lie' })),
    },
    {
      why: 'lone surrogate in the title',
      status: 400,
      code: 'invalid_title',
      send: () => put(signRaw({ ...fresh(8), title: 'bad \uD800 text' })),
    },
    {
      why: 'infohash not hex in the URL',
      status: 400,
      code: 'invalid_infohash',
      send: () => put(fresh(9), 'not-a-hash'),
    },
    {
      why: 'uppercase infohash',
      status: 400,
      code: 'invalid_infohash',
      send: () => put(fresh(10), hashOf(n(10)).toUpperCase()),
    },
    {
      why: 'infohash too short, in URL and body',
      status: 400,
      code: 'invalid_infohash',
      send: () => put({ ...fresh(11), infohash: 'abc' }, 'abc'),
    },
    {
      why: 'URL and body name different entries',
      status: 400,
      code: 'infohash_mismatch',
      send: () => put(fresh(12), hashOf(n(99))),
    },
    {
      why: 'magnet for another torrent',
      status: 400,
      code: 'invalid_magnet',
      send: () => put(signEntry(alice, { ...fresh(13), magnet: `magnet:?xt=urn:btih:${hashOf(1)}` })),
    },
    {
      why: 'size not the sum of the files',
      status: 400,
      code: 'invalid_entry',
      send: () => put(signEntry(alice, { ...fresh(14), size: 1 })),
    },
    {
      why: 'too many files',
      status: 400,
      code: 'bad_request',
      message: /files/,
      send: () =>
        put(
          signEntry(alice, {
            ...fresh(15),
            files: Array.from({ length: 1001 }, (_, i) => ({ path: `${i}`, size: 1 })),
          }),
        ),
    },
    {
      why: 'missing signature',
      status: 401,
      code: 'missing_signature',
      send: () => put({ ...fresh(16), signature: undefined }),
    },
    {
      why: 'wrong signature (another entry’s)',
      status: 401,
      code: 'bad_signature',
      send: () => put({ ...fresh(17), signature: fresh(18).signature }),
    },
    {
      why: 'signature by another key than the one named',
      status: 401,
      code: 'bad_signature',
      send: () => put({ ...fresh(19), signature: entry(bob, n(19), 'Title 19').signature }),
    },
    {
      why: 'title changed after signing',
      status: 401,
      code: 'bad_signature',
      send: () => put({ ...fresh(20), title: 'Something else' }),
    },
    {
      why: 'malformed public key',
      status: 400,
      code: 'invalid_public_key',
      send: () => put({ ...fresh(21), publicKey: 'zz' }),
    },
    {
      why: 'signed an hour ago',
      status: 400,
      code: 'stale_request',
      message: /within 600 s/,
      send: () => put(entry(alice, n(22), 'Old', {}, new Date(Date.now() - 3600_000))),
    },
    {
      why: 'not a JSON body',
      status: 415,
      code: 'unsupported_media_type',
      send: () =>
        app.inject({
          method: 'PUT',
          url: `/entries/${hashOf(n(23))}`,
          payload: 'hello',
          headers: { 'content-type': 'text/plain' },
        }),
    },
    {
      why: 'broken JSON',
      status: 400,
      code: 'bad_request',
      send: () =>
        app.inject({
          method: 'PUT',
          url: `/entries/${hashOf(n(24))}`,
          payload: '{"infohash":',
          headers: { 'content-type': 'application/json' },
        }),
    },
    {
      why: 'body over 1 MiB',
      status: 413,
      code: 'payload_too_large',
      send: () =>
        app.inject({
          method: 'PUT',
          url: `/entries/${hashOf(n(25))}`,
          payload: JSON.stringify({ ...fresh(25), pad: 'z'.repeat(1_100_000) }),
          headers: { 'content-type': 'application/json' },
        }),
    },
  ];

  for (const c of cases) {
    it(`${c.why}: ${c.status} ${c.code}`, async () => {
      const before = (await store.recent(100)).length;
      await expectRefused((await c.send()) as never, c.status, c.code, c.message);
      expect((await store.recent(100)).length).toBe(before);
    });
  }

  it('nothing from the refused writes is searchable or gettable', async () => {
    expect((await app.inject('/search?q=title&limit=100')).json().total).toBe(0);
    for (let i = 1; i <= 25; i++) expect(await store.get(hashOf(n(i)))).toBeUndefined();
  });
});

describe('ownership and replays', () => {
  it('another key cannot overwrite or delete someone’s entry', async () => {
    const mine = entry(alice, 500, 'Alice’s Holiday');
    expect((await put(mine)).statusCode).toBe(201);
    const theirs = entry(bob, 500, 'Bob was here', {}, new Date(Date.now() + 5));
    await expectRefused(await put(theirs), 403, 'not_owner');
    const del = signDelete(bob, mine.infohash, new Date(Date.now() + 10));
    await expectRefused(
      await app.inject({ method: 'DELETE', url: `/entries/${mine.infohash}`, payload: del }),
      403,
      'not_owner',
    );
    expect(await store.get(mine.infohash)).toEqual(mine);
  });

  it('a replayed write, an older version, a replayed delete and a write replayed after deletion are refused', async () => {
    const t = Date.now();
    const v1 = entry(alice, 501, 'Replay Target', {}, new Date(t));
    const v2 = entry(alice, 501, 'Replay Target v2', { createdAt: v1.createdAt }, new Date(t + 1000));
    expect((await put(v1)).statusCode).toBe(201);
    await expectRefused(await put(v1), 409, 'replayed');
    expect((await put(v2)).statusCode).toBe(200);
    await expectRefused(await put(v1), 409, 'replayed');
    expect((await store.get(v1.infohash))?.title).toBe('Replay Target v2');

    const del = signDelete(alice, v1.infohash, new Date(t + 2000));
    const delReq = () => app.inject({ method: 'DELETE', url: `/entries/${v1.infohash}`, payload: del });
    expect((await delReq()).statusCode).toBe(200);
    await expectRefused(await delReq(), 404, 'not_found');
    await expectRefused(await put(v2), 409, 'replayed', /deleted at/);
    expect(await store.get(v1.infohash)).toBeUndefined();

    // The owner can publish it again with a fresh signature.
    const v3 = entry(alice, 501, 'Replay Target v3', {}, new Date(t + 3000));
    expect((await put(v3)).statusCode).toBe(201);
  });

  it('a deletion with a bad or missing signature is refused', async () => {
    const e = entry(alice, 502, 'Keep Me');
    await put(e);
    const del = signDelete(alice, e.infohash, new Date(Date.now() + 10));
    const url = `/entries/${e.infohash}`;
    await expectRefused(
      await app.inject({ method: 'DELETE', url, payload: { ...del, signature: undefined } }),
      401,
      'missing_signature',
    );
    await expectRefused(
      await app.inject({ method: 'DELETE', url, payload: { ...del, signedAt: new Date().toISOString() } }),
      401,
      'bad_signature',
    );
    await expectRefused(
      await app.inject({ method: 'DELETE', url, payload: { ...del, signedAt: 'yesterday' } }),
      400,
      'invalid_time',
    );
    expect(await store.get(e.infohash)).toEqual(e);
  });
});

describe('hostile reads', () => {
  const cases: Array<{ url: string; status: number; code: string; message?: RegExp }> = [
    { url: '/search', status: 400, code: 'bad_request', message: /q/ },
    { url: '/search?q=', status: 400, code: 'bad_request' },
    { url: `/search?q=${'a'.repeat(300)}`, status: 400, code: 'bad_request', message: /256/ },
    { url: '/search?q=x&limit=1000000', status: 400, code: 'bad_request', message: /limit/ },
    { url: '/search?q=x&limit=0', status: 400, code: 'bad_request', message: /limit/ },
    { url: '/search?q=x&offset=-1', status: 400, code: 'bad_request', message: /offset/ },
    { url: '/search?q=x&offset=99999999', status: 400, code: 'bad_request', message: /offset/ },
    { url: '/search?q=x&offset=9990&limit=20', status: 400, code: 'invalid_page', message: /10000/ },
    { url: '/search?q=x&limit=abc', status: 400, code: 'bad_request' },
    { url: '/recent?limit=100000', status: 400, code: 'bad_request', message: /limit/ },
    { url: '/entries/xyz', status: 400, code: 'invalid_infohash' },
    { url: `/entries/${'a'.repeat(40)}`, status: 404, code: 'not_found' },
  ];
  for (const c of cases) {
    it(`GET ${c.url.slice(0, 60)}: ${c.status} ${c.code}`, async () => {
      await expectRefused(await app.inject(c.url), c.status, c.code, c.message);
    });
  }
});

describe('rate limits', () => {
  it('a client over its write budget gets 429 with Retry-After, another client does not', async () => {
    const s = await openEmbeddedStore({ stateDir: tempDir('rl') });
    const limited = await buildCatalogServer(s, {
      rateLimit: { read: { burst: 100, perSecond: 100 }, write: { burst: 2, perSecond: 0.01 } },
    });
    try {
      const send = (i: number, ip: string) =>
        limited.inject({
          method: 'PUT',
          url: `/entries/${hashOf(i)}`,
          payload: entry(alice, i, `RL ${i}`),
          remoteAddress: ip,
        });
      expect((await send(1, '192.0.2.1')).statusCode).toBe(201);
      expect((await send(2, '192.0.2.1')).statusCode).toBe(201);
      const third = await send(3, '192.0.2.1');
      await expectRefused(third, 429, 'rate_limited', /retry in/);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect(await s.get(hashOf(3))).toBeUndefined();
      expect((await send(4, '192.0.2.2')).statusCode).toBe(201);
    } finally {
      await limited.close();
      await s.close();
    }
  });
});

describe('over a real socket with CatalogClient', () => {
  it('add, search, get, recent, remove, and server errors as CatalogClientError', async () => {
    const s = await openEmbeddedStore({ stateDir: tempDir('socket') });
    const server = await buildCatalogServer(s, { rateLimit: false });
    await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const addr = server.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const client = new CatalogClient({ baseUrl: `http://127.0.0.1:${port}/` });
      const e = entry(alice, 900, 'Spirited Away');
      expect(await client.add(e)).toEqual({ result: 'created', infohash: e.infohash });
      const found = await client.search('spirted awa', { limit: 5 });
      expect(found.results[0]?.entry).toEqual(e);
      expect(await client.get(e.infohash)).toEqual(e);
      expect(await client.get(hashOf(901))).toBeUndefined();
      expect((await client.recent(1))[0]?.infohash).toBe(e.infohash);
      const err = await client.add(e).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(CatalogClientError);
      expect((err as CatalogClientError).code).toBe('replayed');
      expect((err as CatalogClientError).status).toBe(409);
      expect(await client.remove(signDelete(alice, e.infohash, new Date(Date.now() + 5)))).toEqual({
        deleted: true,
        infohash: e.infohash,
      });
      expect(await client.get(e.infohash)).toBeUndefined();
    } finally {
      await server.close();
      await s.close();
    }
  });

  it('an unreachable catalog is an error with code "unreachable"', async () => {
    const client = new CatalogClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 5000 });
    await expect(client.search('x')).rejects.toMatchObject({ code: 'unreachable' });
  });
});

describe('mounted under a prefix, as dream-torrent does', () => {
  it('answers under /catalog with the same errors, and leaves the host app’s other routes alone', async () => {
    const Fastify = (await import('fastify')).default;
    const { catalogRoutes } = await import('@dream/catalog');
    const s = await openEmbeddedStore({ stateDir: tempDir('prefix') });
    const host = Fastify();
    host.get('/status', async () => ({ engine: 'ok' }));
    await host.register(catalogRoutes(s, { rateLimit: false }), { prefix: '/catalog' });
    try {
      const e = entry(alice, 1, 'Prefixed');
      expect(
        (await host.inject({ method: 'PUT', url: `/catalog/entries/${e.infohash}`, payload: e })).statusCode,
      ).toBe(201);
      expect((await host.inject('/catalog/search?q=prefixed')).json().total).toBe(1);
      await expectRefused(await host.inject('/catalog/entries/nope'), 400, 'invalid_infohash');
      expect((await host.inject('/status')).json()).toEqual({ engine: 'ok' });
    } finally {
      await host.close();
      await s.close();
    }
  });

  it('a store that cannot be reached answers 503 store_unavailable', async () => {
    const down = {
      search: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionError' });
      },
    } as unknown as Store;
    const srv = await buildCatalogServer(down, { rateLimit: false });
    try {
      await expectRefused(await srv.inject('/search?q=x'), 503, 'store_unavailable');
    } finally {
      await srv.close();
    }
  });
});

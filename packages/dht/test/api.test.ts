import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, type DhtService, MAX_OPEN_LOOKUPS } from '../src/api.js';
import { API_ERRORS } from '../src/errors.js';
import { DhtApiError, DhtClient } from '../src/index.js';
import type { PeerAddress } from '../src/types.js';
import { collect, eventually, randomInfohash } from './helpers.js';

/** A service whose lookups emit the given peers and then never finish (only the deadline ends them). */
function fakeService(peers: PeerAddress[]): DhtService & { aborted: number } {
  const svc = {
    aborted: 0,
    status: () => ({
      nodeId: '0'.repeat(40),
      udpPort: 1,
      tableSize: 0,
      goodNodes: 0,
      storedPeers: 0,
      storedInfohashes: 0,
      announced: 0,
      traffic: { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0 },
      uptimeSeconds: 0,
      bootstrapped: true,
    }),
    lookup: (_ih: Buffer, onPeer: (p: PeerAddress) => void) => {
      setImmediate(() => {
        for (const p of peers) onPeer(p);
        for (const p of peers) onPeer(p); // duplicates are streamed once
      });
      return () => {
        svc.aborted++;
      };
    },
    announce: () => {},
    unannounce: () => true,
    announces: () => [],
    putImmutable: async () => ({ target: '0'.repeat(40), nodes: 0 }),
    getImmutable: async () => undefined,
    putMutable: async () => ({ target: '0'.repeat(40), nodes: 0 }),
    getMutable: async () => undefined,
  };
  return svc;
}

describe('local API', () => {
  const svc = fakeService([
    { host: '10.0.0.1', port: 6881 },
    { host: '10.0.0.2', port: 6882 },
  ]);
  const { app } = buildApi(svc);
  let client: DhtClient;

  beforeAll(async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    client = new DhtClient({ apiUrl: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` });
  });
  afterAll(() => app.close());

  it.each([
    ['evil.example', 403],
    ['evil.example:6883', 403],
    ['127.0.0.1.evil.example', 403],
    ['localhost.', 403],
    ['10.0.0.1:6883', 403],
    ['127.0.0.1:6883', 200],
    ['localhost', 200],
    ['LOCALHOST:1', 200],
    ['[::1]:6883', 200],
  ])('Host %s -> %i', async (host, status) => {
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host } });
    expect(res.statusCode).toBe(status);
    if (status === 403) {
      expect(res.json().error.code).toBe('forbidden_host');
      expect(res.json().error.message).toMatch(/only to 127\.0\.0\.1, localhost or \[::1\]/);
    }
  });

  it.each([
    ['POST', '/v1/immutable', 'http://evil.example'],
    ['POST', '/v1/immutable', 'null'],
    ['GET', '/v1/status', 'http://127.0.0.1:6883'],
  ])('%s %s from a page on %s -> 403 forbidden_origin', async (method, url, origin) => {
    // What a browser sends for a page's form or text/plain POST, which needs no CORS preflight.
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { host: '127.0.0.1:6883', origin, 'content-type': 'text/plain' },
      ...(method === 'POST' ? { payload: '{"v":"from a web page"}' } : {}),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden_origin');
    expect(res.json().error.message).toContain('may not use the DHT API');
  });

  it.each([
    ['GET', `/v1/peers/${'g'.repeat(40)}`, 'invalid_infohash', /40 hexadecimal digits/, undefined],
    ['GET', `/v1/peers/${'a'.repeat(39)}`, 'invalid_infohash', /40 hexadecimal digits/, undefined],
    ['GET', `/v1/peers/${'a'.repeat(40)}?timeout_ms=5`, 'invalid_timeout', /100-120000/, undefined],
    ['GET', `/v1/peers/${'a'.repeat(40)}?timeout_ms=abc`, 'invalid_timeout', /100-120000/, undefined],
    ['PUT', `/v1/announces/${'a'.repeat(40)}`, 'invalid_port', /0-65535/, { port: 70000 }],
    ['PUT', `/v1/announces/${'a'.repeat(40)}`, 'invalid_port', /0-65535/, { port: '1' }],
    ['PUT', '/v1/announces/xyz', 'invalid_infohash', /40 hexadecimal/, { port: 1 }],
    [
      'POST',
      '/v1/immutable',
      'value_too_large',
      /1-1000 bytes/,
      { v: Buffer.alloc(1001).toString('base64') },
    ],
    ['POST', '/v1/immutable', 'invalid_body', /base64/, { v: 12 }],
    ['POST', '/v1/immutable', 'invalid_body', /JSON object/, [1]],
    ['GET', '/v1/immutable/zz', 'invalid_target', /40 hexadecimal/, undefined],
    ['GET', `/v1/immutable/${'a'.repeat(40)}`, 'not_found', /no immutable item/, undefined],
    ['GET', '/v1/mutable/abcd', 'invalid_key', /64 hexadecimal/, undefined],
    [
      'PUT',
      `/v1/mutable/${'a'.repeat(64)}`,
      'invalid_signature',
      /64-byte/,
      { v: 'eA==', seq: 1, sig: 'zz' },
    ],
    [
      'PUT',
      `/v1/mutable/${'a'.repeat(64)}`,
      'invalid_body',
      /seq/,
      { v: 'eA==', seq: -1, sig: 'a'.repeat(128) },
    ],
    ['GET', '/v2/nothing', 'not_found', /no route GET \/v2\/nothing/, undefined],
  ])('%s %s -> %s', async (method, url, code, message, payload) => {
    const res = await app.inject({ method: method as 'GET', url, payload: payload as object | undefined });
    const body = res.json() as { error: { code: keyof typeof API_ERRORS; message: string } };
    expect(body.error.code).toBe(code);
    expect(res.statusCode).toBe(API_ERRORS[body.error.code].status);
    expect(body.error.message).toMatch(message);
  });

  it('a malformed JSON body is invalid_body', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: `/v1/announces/${'a'.repeat(40)}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"port":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_body');
  });

  it('find peers streams NDJSON and ends at the deadline', async () => {
    const before = svc.aborted;
    const peers = await collect(client.findPeers(randomInfohash(), { timeoutMs: 300 }));
    expect(peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '10.0.0.2', port: 6882 },
    ]);
    // The daemon side stopped its lookup when the deadline passed.
    expect(svc.aborted).toBe(before + 1);
  });

  it('find peers stops when the caller aborts', async () => {
    const ac = new AbortController();
    const got: PeerAddress[] = [];
    for await (const p of client.findPeers(randomInfohash(), { signal: ac.signal, timeoutMs: 60_000 })) {
      got.push(p);
      ac.abort();
    }
    expect(got).toHaveLength(1);
  });

  it('bounds open find-peers streams', async () => {
    const api = buildApi(fakeService([]));
    const settled: Array<{ statusCode: number; body: string }> = [];
    const extra = 10;
    const open = Array.from({ length: MAX_OPEN_LOOKUPS + extra }, () =>
      api.app.inject({ method: 'GET', url: `/v1/peers/${randomInfohash()}?timeout_ms=120000` }).then((r) => {
        settled.push(r);
        return r;
      }),
    );
    // The streams within the bound stay open until their deadline; the ones beyond it are refused.
    await eventually(() => settled.length >= extra);
    expect(settled).toHaveLength(extra);
    for (const r of settled) {
      expect(r.statusCode).toBe(429);
      expect(JSON.parse(r.body).error.code).toBe('too_many_lookups');
    }
    api.endStreams();
    const all = await Promise.all(open);
    expect(all.filter((r) => r.statusCode === 200)).toHaveLength(MAX_OPEN_LOOKUPS);
    await api.app.close();
  });

  it('the client surfaces API errors with their code', async () => {
    const err = await client.getMutable(Buffer.alloc(31)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DhtApiError);
    expect((err as DhtApiError).code).toBe('invalid_key');
  });

  it('every error code is documented in docs/design/dht.md', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/design/dht.md'), 'utf8');
    for (const code of Object.keys(API_ERRORS)) expect(doc, code).toContain(`\`${code}\``);
  });
});

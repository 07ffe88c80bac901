/**
 * The HTTP semantics, request by request, through fastify inject(): good and bad requests with the
 * status, headers and body each must get. The server must keep serving after every bad one.
 */

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStreamApp, formatEtag, MAX_RANGE_SPECS, SourceNotReady } from '../src/index.js';
import { expectedBytes, memorySource, newLog, parseMultipart, virtualFile } from './helpers.js';

const IH = '0123456789abcdef0123456789abcdef01234567';
// The same infohash in base32 (RFC 4648), as magnet links may carry it.
const IH_B32 = 'AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH';
const MKV = `/stream/${IH}/0`;
const SIZE = 1000;
const log = newLog();
const files = [
  virtualFile('Season 1/ep 01.mkv', SIZE, 1, log),
  virtualFile('b.mp4', 10, 2, log),
  virtualFile('empty.srt', 0, 3, log),
  virtualFile('notes.xyz', 5, 4, log),
  virtualFile('subs/ep 01.vtt', 7, 5, log),
  virtualFile('weird "name" 100%.mp3', 3, 6, log),
];
const ETAG = formatEtag(files[0]!.etag);

let app: FastifyInstance;
beforeAll(async () => {
  app = buildStreamApp(memorySource({ [IH]: files }, { [IH]: 'My Show' }), { host: '127.0.0.1' });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

interface Case {
  name: string;
  method?: 'GET' | 'HEAD';
  url?: string;
  headers?: Record<string, string>;
  status: number;
  /** Headers that must be present with these values; `null` = must be absent. */
  expectHeaders?: Record<string, string | null>;
  /** The exact body, as bytes [start, end] of the mkv, '' for empty, or an error code. */
  body?: { range: [number, number] } | { empty: true } | { error: string };
}

const full: Case['body'] = { range: [0, SIZE - 1] };

const cases: Case[] = [
  {
    name: 'no Range: whole file',
    status: 200,
    body: full,
    expectHeaders: {
      'content-length': '1000',
      'accept-ranges': 'bytes',
      'content-type': 'video/x-matroska',
      etag: ETAG,
      'content-range': null,
      'access-control-allow-origin': null,
    },
  },
  {
    name: 'bytes=0-0 is exactly one byte',
    headers: { range: 'bytes=0-0' },
    status: 206,
    body: { range: [0, 0] },
    expectHeaders: { 'content-range': 'bytes 0-0/1000', 'content-length': '1' },
  },
  {
    name: 'bytes=0-1 is exactly two bytes',
    headers: { range: 'bytes=0-1' },
    status: 206,
    body: { range: [0, 1] },
    expectHeaders: { 'content-range': 'bytes 0-1/1000', 'content-length': '2' },
  },
  {
    name: 'open-ended',
    headers: { range: 'bytes=500-' },
    status: 206,
    body: { range: [500, 999] },
    expectHeaders: { 'content-range': 'bytes 500-999/1000', 'content-length': '500' },
  },
  {
    name: 'suffix',
    headers: { range: 'bytes=-300' },
    status: 206,
    body: { range: [700, 999] },
    expectHeaders: { 'content-range': 'bytes 700-999/1000' },
  },
  {
    name: 'suffix longer than the file: the whole file as a 206',
    headers: { range: 'bytes=-5000' },
    status: 206,
    body: { range: [0, 999] },
    expectHeaders: { 'content-range': 'bytes 0-999/1000' },
  },
  {
    name: 'the last byte',
    headers: { range: 'bytes=999-999' },
    status: 206,
    body: { range: [999, 999] },
  },
  {
    name: 'end past the size is clamped',
    headers: { range: 'bytes=990-5000' },
    status: 206,
    body: { range: [990, 999] },
    expectHeaders: { 'content-range': 'bytes 990-999/1000', 'content-length': '10' },
  },
  {
    name: 'huge last-pos is clamped',
    headers: { range: 'bytes=10-99999999999999999999999' },
    status: 206,
    body: { range: [10, 999] },
  },
  {
    name: 'range unit is case-insensitive, OWS allowed',
    headers: { range: ' Bytes = 1-2 ' },
    status: 206,
    body: { range: [1, 2] },
  },
  {
    name: 'start past the end: 416 with bytes */size',
    headers: { range: 'bytes=1000-' },
    status: 416,
    body: { error: 'RANGE_NOT_SATISFIABLE' },
    expectHeaders: { 'content-range': 'bytes */1000', 'accept-ranges': 'bytes' },
  },
  {
    name: 'huge first-pos: 416',
    headers: { range: 'bytes=99999999999999999999-' },
    status: 416,
    body: { error: 'RANGE_NOT_SATISFIABLE' },
  },
  {
    name: 'inverted range: 416 (RFC 9110 §14.1.1 invalid int-range)',
    headers: { range: 'bytes=9-3' },
    status: 416,
    body: { error: 'RANGE_NOT_SATISFIABLE' },
    expectHeaders: { 'content-range': 'bytes */1000' },
  },
  {
    name: 'an inverted range among valid ones: 416',
    headers: { range: 'bytes=0-1,9-3' },
    status: 416,
    body: { error: 'RANGE_NOT_SATISFIABLE' },
  },
  {
    name: 'zero-length suffix: 416',
    headers: { range: 'bytes=-0' },
    status: 416,
    body: { error: 'RANGE_NOT_SATISFIABLE' },
  },
  ...['bytes=abc', 'bytes=', 'bytes=1-2-3', 'bytes 0-1', 'garbage', '=0-1', 'bytes=0x10-20', 'bytes=--5'].map(
    (range): Case => ({
      name: `malformed Range "${range}" is ignored: 200 full`,
      headers: { range },
      status: 200,
      body: full,
      expectHeaders: { 'content-length': '1000', 'content-range': null },
    }),
  ),
  {
    name: 'unknown range unit is ignored',
    headers: { range: 'items=0-1' },
    status: 200,
    body: full,
  },
  {
    name: 'overlapping ranges coalesce into one plain 206',
    headers: { range: 'bytes=0-5,3-9' },
    status: 206,
    body: { range: [0, 9] },
    expectHeaders: { 'content-range': 'bytes 0-9/1000' },
  },
  {
    name: 'adjacent ranges coalesce',
    headers: { range: 'bytes=5-9,0-4' },
    status: 206,
    body: { range: [0, 9] },
  },
  {
    name: 'an unsatisfiable range among satisfiable ones is dropped',
    headers: { range: 'bytes=0-1, 2000-3000' },
    status: 206,
    body: { range: [0, 1] },
  },
  {
    name: `more than ${MAX_RANGE_SPECS} ranges: ignored, 200 full`,
    headers: {
      range: `bytes=${Array.from({ length: MAX_RANGE_SPECS + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`,
    },
    status: 200,
    body: full,
  },
  {
    name: 'If-Range with the current ETag: the range',
    headers: { range: 'bytes=0-1', 'if-range': ETAG },
    status: 206,
    body: { range: [0, 1] },
  },
  {
    name: 'If-Range with another ETag: 200 full',
    headers: { range: 'bytes=0-1', 'if-range': '"stale"' },
    status: 200,
    body: full,
  },
  {
    name: 'If-Range with a weak ETag never matches (strong comparison)',
    headers: { range: 'bytes=0-1', 'if-range': `W/${ETAG}` },
    status: 200,
    body: full,
  },
  {
    name: 'If-Range with a date: 200 full (we send no Last-Modified)',
    headers: { range: 'bytes=0-1', 'if-range': 'Sun, 22 Nov 2026 04:00:00 GMT' },
    status: 200,
    body: full,
  },
  {
    name: 'If-None-Match with the ETag: 304 with the ETag, no body',
    headers: { 'if-none-match': `"other", ${ETAG}` },
    status: 304,
    body: { empty: true },
    expectHeaders: { etag: ETAG },
  },
  {
    name: 'If-None-Match uses weak comparison',
    headers: { 'if-none-match': `W/${ETAG}` },
    status: 304,
  },
  {
    name: 'If-None-Match: * is 304',
    headers: { 'if-none-match': '*' },
    status: 304,
  },
  {
    name: 'If-None-Match with another tag: 200',
    headers: { 'if-none-match': '"other"' },
    status: 200,
    body: full,
  },
  {
    name: 'If-Match with another tag: 412',
    headers: { 'if-match': '"other"', range: 'bytes=0-1' },
    status: 412,
    body: { error: 'PRECONDITION_FAILED' },
  },
  {
    name: 'If-Match with the ETag: served',
    headers: { 'if-match': ETAG, range: 'bytes=0-1' },
    status: 206,
    body: { range: [0, 1] },
  },
  {
    name: 'HEAD: same headers as GET, no body',
    method: 'HEAD',
    status: 200,
    body: { empty: true },
    expectHeaders: { 'content-length': '1000', 'accept-ranges': 'bytes', etag: ETAG },
  },
  {
    name: 'HEAD with Range: the 206 headers, no body',
    method: 'HEAD',
    headers: { range: 'bytes=100-199' },
    status: 206,
    body: { empty: true },
    expectHeaders: { 'content-length': '100', 'content-range': 'bytes 100-199/1000' },
  },
  {
    name: 'by URL-encoded path',
    url: `/stream/${IH}/Season%201/ep%2001.mkv`,
    headers: { range: 'bytes=0-3' },
    status: 206,
    body: { range: [0, 3] },
  },
  {
    name: 'by base32 infohash',
    url: `/stream/${IH_B32}/0`,
    headers: { range: 'bytes=0-3' },
    status: 206,
    body: { range: [0, 3] },
  },
  {
    name: 'uppercase hex infohash',
    url: `/stream/${IH.toUpperCase()}/0`,
    headers: { range: 'bytes=0-3' },
    status: 206,
    body: { range: [0, 3] },
  },
  {
    name: 'zero-length file: 200, Content-Length 0',
    url: `/stream/${IH}/2`,
    status: 200,
    body: { empty: true },
    expectHeaders: { 'content-length': '0', 'content-type': 'application/x-subrip' },
  },
  {
    name: 'zero-length file with a Range: the Range is ignored',
    url: `/stream/${IH}/2`,
    headers: { range: 'bytes=0-0' },
    status: 200,
    body: { empty: true },
    expectHeaders: { 'content-length': '0', 'content-range': null },
  },
  {
    name: 'mp4 type',
    url: `/stream/${IH}/b.mp4`,
    status: 200,
    expectHeaders: { 'content-type': 'video/mp4', 'content-length': '10' },
  },
  {
    name: 'unknown extension: octet-stream, nosniff',
    url: `/stream/${IH}/3`,
    status: 200,
    expectHeaders: { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff' },
  },
  {
    name: 'vtt type',
    url: `/stream/${IH}/subs/ep%2001.vtt`,
    status: 200,
    expectHeaders: { 'content-type': 'text/vtt; charset=utf-8' },
  },
  {
    name: 'quotes and % in a name stay out of the header syntax',
    url: `/stream/${IH}/5`,
    status: 200,
    expectHeaders: {
      'content-disposition': `inline; filename="weird _name_ 100_.mp3"; filename*=UTF-8''weird%20%22name%22%20100%25.mp3`,
    },
  },
  // Bad requests.
  {
    name: 'unknown infohash: 404',
    url: `/stream/${'f'.repeat(40)}/0`,
    status: 404,
    body: { error: 'UNKNOWN_TORRENT' },
  },
  { name: 'bad infohash: 400', url: '/stream/xyz/0', status: 400, body: { error: 'BAD_INFOHASH' } },
  {
    name: '39 hex digits: 400',
    url: `/stream/${IH.slice(1)}/0`,
    status: 400,
    body: { error: 'BAD_INFOHASH' },
  },
  {
    name: 'index out of range: 404',
    url: `/stream/${IH}/6`,
    status: 404,
    body: { error: 'FILE_NOT_FOUND' },
  },
  {
    name: 'no such path: 404',
    url: `/stream/${IH}/Season%201/ep02.mkv`,
    status: 404,
    body: { error: 'FILE_NOT_FOUND' },
  },
  {
    name: 'encoded traversal (%2F..%2F): 400',
    url: `/stream/${IH}/Season%201%2F..%2Fb.mp4`,
    status: 400,
    body: { error: 'BAD_PATH' },
  },
  { name: 'NUL: 400', url: `/stream/${IH}/b.mp4%00.txt`, status: 400, body: { error: 'BAD_PATH' } },
  {
    name: 'encoded backslash: 400',
    url: `/stream/${IH}/a%5Cb.mp4`,
    status: 400,
    body: { error: 'BAD_PATH' },
  },
  { name: 'bad percent-encoding: 400', url: `/stream/${IH}/a%zz`, status: 400, body: { error: 'BAD_PATH' } },
  { name: 'invalid UTF-8: 400', url: `/stream/${IH}/a%ff%fe`, status: 400, body: { error: 'BAD_PATH' } },
  { name: 'empty segment: 400', url: `/stream/${IH}/subs//x.vtt`, status: 400, body: { error: 'BAD_PATH' } },
  {
    name: 'overlong path: 400',
    url: `/stream/${IH}/${'a'.repeat(5000)}`,
    status: 400,
    body: { error: 'PATH_TOO_LONG' },
  },
  { name: 'unknown route: 404', url: '/etc/passwd', status: 404, body: { error: 'NOT_FOUND' } },
  {
    name: 'foreign Host: 403 (DNS rebinding)',
    headers: { host: 'evil.example:8888' },
    status: 403,
    body: { error: 'FOREIGN_HOST' },
  },
  {
    name: 'a name that merely starts with localhost is foreign',
    headers: { host: 'localhost.evil.example' },
    status: 403,
    body: { error: 'FOREIGN_HOST' },
  },
  { name: 'a rebinding-style IP name is foreign', headers: { host: '127.0.0.1.nip.io' }, status: 403 },
  { name: 'Host localhost:port is ours', headers: { host: 'LocalHost:1234' }, status: 200 },
  { name: 'Host [::1]:port is ours', headers: { host: '[::1]:8888' }, status: 200 },
  { name: 'Host 127.0.0.1 is ours', headers: { host: '127.0.0.1' }, status: 200 },
  { name: 'a malformed Host is foreign', headers: { host: 'a b' }, status: 403 },
];

async function check(c: Case, target: FastifyInstance): Promise<void> {
  const res = await target.inject({
    method: c.method ?? 'GET',
    url: c.url ?? MKV,
    headers: c.headers ?? {},
  });
  expect(res.statusCode, c.name).toBe(c.status);
  for (const [k, v] of Object.entries(c.expectHeaders ?? {})) {
    if (v === null) expect(res.headers[k], `${c.name}: ${k}`).toBeUndefined();
    else expect(res.headers[k], `${c.name}: ${k}`).toBe(v);
  }
  // Content-Length is always exact.
  if (res.headers['content-length'] !== undefined && c.method !== 'HEAD') {
    expect(res.rawPayload.length, `${c.name}: content-length`).toBe(Number(res.headers['content-length']));
  }
  if (c.body === undefined) return;
  if ('empty' in c.body) expect(res.rawPayload.length, c.name).toBe(0);
  else if ('range' in c.body) {
    expect(res.rawPayload.equals(expectedBytes(1, c.body.range[0], c.body.range[1])), c.name).toBe(true);
  } else {
    const json = res.json() as { error: { code: string; message: string } };
    expect(json.error.code, c.name).toBe(c.body.error);
    expect(json.error.message.length, c.name).toBeGreaterThan(5);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  }
}

describe('request table', () => {
  for (const c of cases) it(c.name, () => check(c, app));

  it('keeps serving after every bad request', async () => {
    for (const c of cases) await check(c, app);
    const res = await app.inject({ url: MKV, headers: { range: 'bytes=10-19' } });
    expect(res.statusCode).toBe(206);
    expect(res.rawPayload.equals(expectedBytes(1, 10, 19))).toBe(true);
  });

  it('never opens a reader for HEAD, 304, 412 or 416', async () => {
    const before = log.opened.length;
    await app.inject({ method: 'HEAD', url: MKV });
    await app.inject({ url: MKV, headers: { 'if-none-match': ETAG } });
    await app.inject({ url: MKV, headers: { 'if-match': '"x"' } });
    await app.inject({ url: MKV, headers: { range: 'bytes=5000-' } });
    expect(log.opened.length).toBe(before);
  });
});

describe('multipart/byteranges', () => {
  it('serves several ranges as parts, sorted, with an exact Content-Length', async () => {
    const res = await app.inject({ url: MKV, headers: { range: 'bytes=500-509, 0-1, -3' } });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBeUndefined();
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    const parts = parseMultipart(res.rawPayload, String(res.headers['content-type']));
    expect(parts.map((p) => [p.start, p.end])).toEqual([
      [0, 1],
      [500, 509],
      [997, 999],
    ]);
    for (const p of parts) {
      expect(p.contentType).toBe('video/x-matroska');
      expect(p.size).toBe(SIZE);
      expect(p.data.equals(expectedBytes(1, p.start, p.end))).toBe(true);
    }
  });

  it('HEAD announces the same multipart length with no body', async () => {
    const get = await app.inject({ url: MKV, headers: { range: 'bytes=0-1,5-6' } });
    const head = await app.inject({ method: 'HEAD', url: MKV, headers: { range: 'bytes=0-1,5-6' } });
    expect(head.statusCode).toBe(206);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.rawPayload.length).toBe(0);
  });
});

describe('listing and playlist', () => {
  it('lists files with their stream URLs', async () => {
    for (const url of [`/stream/${IH}/`, `/stream/${IH}`]) {
      const res = await app.inject({ url, headers: { host: '127.0.0.1:8888' } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.infohash).toBe(IH);
      expect(body.name).toBe('My Show');
      expect(body.files).toHaveLength(files.length);
      expect(body.files[0]).toEqual({
        index: 0,
        path: 'Season 1/ep 01.mkv',
        size: SIZE,
        type: 'video/x-matroska',
        url: `http://127.0.0.1:8888/stream/${IH}/Season%201/ep%2001.mkv`,
      });
    }
  });

  it('names a file whose path reads as an index by its index, so its URL serves that file', async () => {
    const { streamRoutes } = await import('../src/index.js');
    const Fastify = (await import('fastify')).default;
    const other = Fastify();
    // "1" at the root would be read back as index 1, which is "0" here: the listing must not say so.
    other.register(streamRoutes(memorySource({ [IH]: [virtualFile('1', 10, 3), virtualFile('0', 10, 4)] })));
    const list = (await other.inject({ url: `/stream/${IH}/`, headers: { host: 'localhost:1' } })).json();
    expect(list.files.map((f: { url: string }) => f.url)).toEqual([
      `http://localhost:1/stream/${IH}/0`,
      `http://localhost:1/stream/${IH}/1`,
    ]);
    for (const [i, f] of list.files.entries()) {
      const res = await other.inject({ url: new URL(f.url).pathname });
      expect(res.rawPayload.equals(expectedBytes(i === 0 ? 3 : 4, 0, 9))).toBe(true);
    }
    await other.close();
  });

  it('answers 404 for an unknown torrent and 400 for a bad infohash', async () => {
    expect((await app.inject({ url: `/stream/${'e'.repeat(40)}/` })).statusCode).toBe(404);
    expect((await app.inject({ url: '/stream/nope.m3u' })).json().error.code).toBe('BAD_INFOHASH');
  });

  it("answers 503 with the source's reason for a torrent it knows but cannot list, for streams, listings and playlists", async () => {
    const reason = 'torrent 77… is paused and its metadata has not arrived: resume it';
    const notReady = buildStreamApp(
      {
        files: (ih) => {
          if (ih === '7'.repeat(40)) throw new SourceNotReady(reason);
          if (ih === '8'.repeat(40)) throw new Error('the disk is on fire');
          return undefined;
        },
      },
      { host: '127.0.0.1' },
    );
    for (const url of [
      `/stream/${'7'.repeat(40)}/0`,
      `/stream/${'7'.repeat(40)}/`,
      `/stream/${'7'.repeat(40)}.m3u`,
    ]) {
      const res = await notReady.inject({ url, headers: { range: 'bytes=0-0' } });
      expect(res.statusCode, url).toBe(503);
      expect(res.json(), url).toEqual({ error: { code: 'NOT_READY', message: reason } });
    }
    // Any other throw is still an internal error (its text kept for the log), and the server goes on.
    const internal = await notReady.inject({ url: `/stream/${'8'.repeat(40)}/0` });
    expect(internal.statusCode).toBe(500);
    expect(internal.json().error.code).toBe('INTERNAL');
    expect((await notReady.inject({ url: `/stream/${'e'.repeat(40)}/0` })).statusCode).toBe(404);
    await notReady.close();
  });

  it('serves an M3U of the media files with absolute, percent-encoded URLs', async () => {
    const res = await app.inject({ url: `/stream/${IH}.m3u`, headers: { host: 'localhost:9000' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/x-mpegurl; charset=utf-8');
    const base = `http://localhost:9000/stream/${IH}`;
    expect(res.body).toBe(
      '#EXTM3U\n#PLAYLIST:My Show\n' +
        `#EXTINF:-1,Season 1/ep 01.mkv\n${base}/Season%201/ep%2001.mkv\n` +
        `#EXTINF:-1,b.mp4\n${base}/b.mp4\n` +
        `#EXTINF:-1,weird "name" 100%.mp3\n${base}/weird%20%22name%22%20100%25.mp3\n`,
    );
  });

  it('uses the configured base URL and keeps line breaks out of the playlist', async () => {
    const { streamRoutes } = await import('../src/index.js');
    const Fastify = (await import('fastify')).default;
    const other = Fastify();
    other.register(
      streamRoutes(memorySource({ [IH]: [virtualFile('a\nb.mkv', 1, 1)] }), { baseUrl: 'http://tv.lan:1/' }),
    );
    const res = await other.inject({ url: `/stream/${IH}.m3u` });
    expect(res.body).toBe(`#EXTM3U\n#EXTINF:-1,a b.mkv\nhttp://tv.lan:1/stream/${IH}/a%0Ab.mkv\n`);
    await other.close();
  });
});

describe('under a prefix', () => {
  it('serves files and generates URLs with the prefix', async () => {
    const { streamRoutes } = await import('../src/index.js');
    const Fastify = (await import('fastify')).default;
    const host = Fastify();
    host.register(streamRoutes(memorySource({ [IH]: files })), { prefix: '/api' });
    const bytes = await host.inject({ url: `/api/stream/${IH}/0`, headers: { range: 'bytes=3-5' } });
    expect(bytes.statusCode).toBe(206);
    expect(bytes.rawPayload.equals(expectedBytes(1, 3, 5))).toBe(true);
    const byPath = await host.inject({ url: `/api/stream/${IH}/b.mp4` });
    expect(byPath.statusCode).toBe(200);
    const list = await host.inject({ url: `/api/stream/${IH}/`, headers: { host: 'localhost:1' } });
    expect(list.json().files[1].url).toBe(`http://localhost:1/api/stream/${IH}/b.mp4`);
    const m3u = await host.inject({ url: `/api/stream/${IH}.m3u`, headers: { host: 'localhost:1' } });
    expect(m3u.body).toContain(`http://localhost:1/api/stream/${IH}/b.mp4\n`);
    await host.close();
  });
});

describe('CORS', () => {
  it('sends no CORS header by default, whatever the Origin', async () => {
    const res = await app.inject({
      url: MKV,
      headers: { origin: 'https://evil.example', range: 'bytes=0-0' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the configured origins', async () => {
    const cors = buildStreamApp(memorySource({ [IH]: files }), {
      host: '127.0.0.1',
      corsOrigins: ['https://app.example'],
    });
    const ok = await cors.inject({
      url: MKV,
      headers: { origin: 'https://app.example', range: 'bytes=0-0' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(ok.headers['access-control-expose-headers']).toContain('Content-Range');
    expect(ok.headers.vary).toBe('Origin');
    const no = await cors.inject({ url: MKV, headers: { origin: 'https://evil.example' } });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await cors.inject({
      method: 'OPTIONS',
      url: MKV,
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-headers']).toContain('Range');
    const preNo = await cors.inject({
      method: 'OPTIONS',
      url: MKV,
      headers: { origin: 'https://evil.example' },
    });
    expect(preNo.headers['access-control-allow-origin']).toBeUndefined();
    await cors.close();
  });

  // What browsers send (Fetch Metadata) for each way a page or a user can ask for a stream.
  const video = { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'video', range: 'bytes=0-' };
  it.each([
    [
      'a plain <video> on another site',
      { 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/', ...video },
      [],
      403,
    ],
    [
      'the same, its Referer withheld',
      { 'sec-fetch-site': 'cross-site', ...video },
      ['https://app.example'],
      403,
    ],
    [
      'the same, an opaque Origin',
      { 'sec-fetch-site': 'cross-site', origin: 'null', ...video },
      ['https://app.example'],
      403,
    ],
    [
      'a fetch from another site',
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', origin: 'https://evil.example' },
      ['https://app.example'],
      403,
    ],
    [
      'a <video> on a configured site (Referer)',
      { 'sec-fetch-site': 'cross-site', referer: 'https://app.example/watch?v=1', ...video },
      ['https://app.example'],
      206,
    ],
    [
      '<video crossorigin> on a configured site',
      {
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'cors',
        origin: 'https://app.example',
        range: 'bytes=0-',
      },
      ['https://app.example'],
      206,
    ],
    [
      'any site when the user configured *',
      { 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/', ...video },
      ['*'],
      206,
    ],
    [
      'a link the user followed from another site',
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      [],
      200,
    ],
    ['a URL the user typed', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }, [], 200],
    [
      "the same site (this server's page, another local port)",
      { 'sec-fetch-site': 'same-site', ...video },
      [],
      206,
    ],
    ['a player (no Fetch Metadata)', { 'user-agent': 'mpv 0.37.0', range: 'bytes=0-' }, [], 206],
  ] as [string, Record<string, string>, string[], number][])(
    '%s -> %i',
    async (_what, headers, corsOrigins, status) => {
      const server = buildStreamApp(memorySource({ [IH]: files }), { host: '127.0.0.1', corsOrigins });
      try {
        const res = await server.inject({ url: MKV, headers });
        expect(res.statusCode).toBe(status);
        if (status === 403) {
          expect(res.json()).toEqual({
            error: {
              code: 'CROSS_SITE',
              message:
                'a page on another site may not use the streams; to allow one, add its origin to stream.cors_origins',
            },
          });
        }
        // The listing too: it would tell a page which files this computer has.
        const listing = await server.inject({ url: `/stream/${IH}/`, headers });
        expect(listing.statusCode).toBe(status === 403 ? 403 : 200);
      } finally {
        await server.close();
      }
    },
  );

  it('allows configured extra host names', async () => {
    const lan = buildStreamApp(memorySource({ [IH]: files }), { host: '0.0.0.0', allowedHosts: ['tv.lan'] });
    expect((await lan.inject({ url: MKV, headers: { host: 'tv.lan:8888' } })).statusCode).toBe(200);
    expect((await lan.inject({ url: MKV, headers: { host: 'other.lan' } })).statusCode).toBe(403);
    // The wildcard bind address is not a host name.
    expect((await lan.inject({ url: MKV, headers: { host: '0.0.0.0:8888' } })).statusCode).toBe(403);
    const bound = buildStreamApp(memorySource({ [IH]: files }), { host: '192.168.1.10' });
    expect((await bound.inject({ url: MKV, headers: { host: '192.168.1.10:8888' } })).statusCode).toBe(200);
    await bound.close();
    await lan.close();
  });
});

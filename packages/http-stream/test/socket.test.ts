/**
 * Over real sockets on 127.0.0.1: cancellation on disconnect, backpressure, raw-target path tricks
 * that an HTTP client library would normalise away, and 100 concurrent range clients with bounded
 * memory.
 */

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamServer, type SeekableFile, type StreamServer, streamRoutes } from '../src/index.js';
import { byteAt, expectedBytes, get, memorySource, newLog, slowFile, until, virtualFile } from './helpers.js';

const MiB = 1024 * 1024;
const IH1 = '1'.repeat(40);
const IH2 = '2'.repeat(40);
const IH3 = '3'.repeat(40);

const slowLog = newLog();
const bigLog = newLog();
// Ten 64 MiB virtual files over three torrents, generated from the offset: 640 MiB that exist nowhere.
const big: SeekableFile[] = Array.from({ length: 10 }, (_, i) =>
  virtualFile(`big/part${i}.mkv`, 64 * MiB, 100 + i, bigLog),
);
const IH4 = '4'.repeat(40);

/** Readers that misbehave the ways a storage layer can: throw, fail midway, send too much or too little. */
function faulty(path: string, behaviour: 'throws' | 'fails' | 'long' | 'short' | 'gone'): SeekableFile {
  return {
    path,
    size: 1 * MiB,
    etag: `faulty:${path}`,
    createReadStream(start, end) {
      if (behaviour === 'throws') throw new Error('storage is gone');
      if (behaviour === 'gone') {
        // Waits for bytes, then its source goes away (a torrent removed while a player waited).
        const r = new Readable({ read() {} });
        setTimeout(
          () => r.destroy(Object.assign(new Error('the source went away'), { statusCode: 410 })),
          30,
        );
        return r;
      }
      const len = end - start + 1;
      const chunks = [expectedBytes(9, start, start + Math.floor(len / 2) - 1)];
      if (behaviour === 'long') chunks.push(expectedBytes(9, 0, len));
      if (behaviour === 'short') chunks.push(Buffer.alloc(1));
      return Readable.from(
        (async function* () {
          yield* chunks;
          if (behaviour === 'fails') throw new Error('piece failed its hash check forever');
        })(),
      );
    },
  };
}

const torrents: Record<string, SeekableFile[]> = {
  [IH4]: [
    faulty('throws.mkv', 'throws'),
    faulty('fails.mkv', 'fails'),
    faulty('long.mkv', 'long'),
    faulty('short.mkv', 'short'),
    faulty('gone.mkv', 'gone'),
  ],
  [IH1]: [slowFile('slow.mp4', 10 * MiB, 7, { chunk: 16 * 1024, delayMs: 20 }, slowLog), ...big.slice(0, 3)],
  [IH2]: big.slice(3, 7),
  [IH3]: big.slice(7),
};

let server: StreamServer;
beforeAll(async () => {
  server = await createStreamServer(memorySource(torrents), { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server?.close();
});

/** Send a raw request target (no client-side normalisation) and return status line + body. */
function rawGet(target: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1');
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      data += d;
    });
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    sock.on('error', reject);
    sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

describe('binding', () => {
  it('listens on the requested loopback address and reports its URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const addr = server.app.server.address();
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1');
  });

  it('binds IPv6 loopback too, with a bracketed URL', async () => {
    let v6: StreamServer | undefined;
    try {
      v6 = await createStreamServer(memorySource(torrents), { host: '::1', port: 0 });
      expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      const res = await get(`${v6.url}/stream/${IH2}/0`, { range: 'bytes=0-9' });
      expect(res.status).toBe(206);
      expect(res.body.equals(expectedBytes(103, 0, 9))).toBe(true);
    } finally {
      await v6?.close();
    }
  });

  it('refuses a foreign Host over a real socket', async () => {
    const res = await get(`${server.url}/stream/${IH2}/0`, { host: 'attacker.example' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString()).error.code).toBe('FOREIGN_HOST');
  });
});

describe('raw path tricks', () => {
  for (const [name, target] of [
    ['dot-dot segment', `/stream/${IH2}/../../etc/passwd`],
    ['encoded dot-dot', `/stream/${IH2}/%2e%2e/%2E%2E/etc/passwd`],
    ['backslash', `/stream/${IH2}/big\\part3.mkv`],
    ['dot segment', `/stream/${IH2}/./big/part3.mkv`],
  ] as const) {
    it(`${name}: 400 BAD_PATH`, async () => {
      const res = await rawGet(target);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('BAD_PATH');
    });
  }
});

/** A GET that reports whether the body arrived complete (a cut connection is not an error here). */
function getLoose(
  url: string,
): Promise<{ status: number; length: number; received: number; complete: boolean }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, (res) => {
      let received = 0;
      const done = (complete: boolean) =>
        resolve({
          status: res.statusCode ?? 0,
          length: Number(res.headers['content-length']),
          received,
          complete,
        });
      res.on('data', (c: Buffer) => {
        received += c.length;
      });
      res.on('end', () => done(res.complete));
      res.on('error', () => done(false));
      res.on('aborted', () => done(false));
    });
    req.on('error', () => resolve({ status: 0, length: 0, received: 0, complete: false }));
    req.end();
  });
}

describe('misbehaving readers', () => {
  it('a reader that throws on open: 500 with a JSON body, no range headers', async () => {
    const res = await get(`${server.url}/stream/${IH4}/0`, { range: 'bytes=0-99' });
    expect(res.status).toBe(500);
    expect(res.headers['content-range']).toBeUndefined();
    expect(JSON.parse(res.body.toString()).error.code).toBe('INTERNAL');
  });

  it('a reader whose source goes away before its first byte: 410 GONE with the whole JSON body, also mounted in a host app', async () => {
    const host = Fastify({ logger: false });
    await host.register(streamRoutes(memorySource(torrents)));
    await host.listen({ host: '127.0.0.1', port: 0 });
    try {
      const hostUrl = `http://127.0.0.1:${(host.server.address() as { port: number }).port}`;
      for (const base of [server.url, hostUrl]) {
        const res = await get(`${base}/stream/${IH4}/4`, { range: 'bytes=0-0' });
        expect(res.status).toBe(410);
        expect(res.headers['content-range']).toBeUndefined();
        expect(JSON.parse(res.body.toString())).toEqual({
          error: { code: 'GONE', message: 'the source went away' },
        });
      }
    } finally {
      await host.close();
    }
  });

  for (const [index, name] of [
    [1, 'fails midway'],
    [2, 'sends too many bytes'],
    [3, 'sends too few bytes'],
  ] as const) {
    it(`a reader that ${name}: the connection is cut, never a short or long "complete" body`, async () => {
      const res = await getLoose(`${server.url}/stream/${IH4}/${index}`);
      expect(res.status).toBe(200);
      expect(res.complete).toBe(false);
      expect(res.received).toBeLessThan(res.length);
      // And the server keeps serving.
      const ok = await get(`${server.url}/stream/${IH2}/0`, { range: 'bytes=0-9' });
      expect(ok.body.equals(expectedBytes(103, 0, 9))).toBe(true);
    });
  }
});

describe('cancellation', () => {
  it('a closed connection aborts a slow reader at once', async () => {
    const total = 10 * MiB;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${server.url}/stream/${IH1}/slow.mp4`, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-length']).toBe(String(total));
        res.once('data', () => {
          // The viewer closes the player after the first bytes.
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
      });
      req.end();
    });
    await until(() => slowLog.aborts === 1 && slowLog.live === 0);
    const sentAtAbort = slowLog.sent;
    expect(sentAtAbort).toBeLessThan(total);
    // Nothing more is produced after the abort: wait for several would-be chunk periods.
    await new Promise((r) => setTimeout(r, 200));
    expect(slowLog.sent).toBe(sentAtAbort);
  });

  it('a completed response releases its reader without an abort', async () => {
    const before = slowLog.aborts;
    const res = await get(`${server.url}/stream/${IH1}/0`, { range: 'bytes=100-50099' });
    expect(res.status).toBe(206);
    expect(res.body.equals(expectedBytes(7, 100, 50099))).toBe(true);
    await until(() => slowLog.live === 0);
    expect(slowLog.aborts).toBe(before);
  });

  it('a client that stops reading gets backpressure, and its close aborts the stalled reader', async () => {
    const start = { sent: bigLog.sent, aborts: bigLog.aborts };
    let received = 0;
    const req = httpRequest(`${server.url}/stream/${IH2}/0`);
    await new Promise<void>((resolve) => {
      req.on('response', (res) => {
        res.once('data', (c: Buffer) => {
          received += c.length;
          res.pause();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    // Wait until the server has stalled: the reader stops producing once the socket buffers are full.
    let last = -1;
    await until(() => {
      const now = bigLog.sent;
      const stalled = now === last;
      last = now;
      return stalled;
    }, 20_000);
    const produced = bigLog.sent - start.sent;
    console.log(
      `paused client: the reader produced ${(produced / MiB).toFixed(1)} MiB of 64 MiB, then stalled`,
    );
    // Kernel socket buffers and stream high-water marks hold a few MiB at most, never the 64 MiB file.
    expect(produced).toBeLessThan(16 * MiB);
    expect(received).toBeGreaterThan(0);
    req.destroy();
    await until(() => bigLog.aborts === start.aborts + 1 && bigLog.live === 0);
  });
});

describe('a file still downloading', () => {
  it('random ranges over a real socket: every byte equals the source', async () => {
    const log = newLog();
    // Odd chunk size and small delays: bytes trickle in unaligned with anything, like pieces arriving.
    const size = 3 * MiB + 12_345;
    const trickle = slowFile('trickle.mkv', size, 11, { chunk: 7_001, delayMs: 1 }, log);
    const local = await createStreamServer({ files: () => [trickle] }, { host: '127.0.0.1', port: 0 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: size - 1 }),
          fc.integer({ min: 1, max: 200_000 }),
          async (start, len) => {
            const end = Math.min(size - 1, start + len - 1);
            const res = await get(`${local.url}/stream/${IH1}/0`, { range: `bytes=${start}-${end}` });
            expect(res.status).toBe(206);
            expect(res.body.equals(expectedBytes(11, start, end))).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
      await until(() => log.live === 0);
    } finally {
      await local.close();
    }
  });
});

describe('100 concurrent range clients', () => {
  it('all receive exactly the right bytes, and memory stays bounded', async () => {
    const files = Object.entries(torrents).flatMap(([ih, list]) =>
      list.map((f, index) => ({ ih, index, file: f })).filter((x) => x.file.path.startsWith('big/')),
    );
    const seedOf = (path: string) => 100 + Number(/part(\d+)/.exec(path)![1]);
    // A deterministic spread of ranges: ~4 MiB each, piece-unaligned starts, some suffix, some to the end.
    const jobs = Array.from({ length: 100 }, (_, i) => {
      const target = files[i % files.length]!;
      const size = target.file.size;
      const start = ((i * 7_919_993) % (size - 5 * MiB)) + (i % 3);
      const kind = i % 10;
      const header =
        kind === 0
          ? `bytes=-${4 * MiB}`
          : kind === 1
            ? `bytes=${size - 3 * MiB - 1}-`
            : `bytes=${start}-${start + 4 * MiB - 1}`;
      const from = kind === 0 ? size - 4 * MiB : kind === 1 ? size - 3 * MiB - 1 : start;
      const to = kind === 0 || kind === 1 ? size - 1 : start + 4 * MiB - 1;
      return {
        url: `${server.url}/stream/${target.ih}/${target.index}`,
        header,
        from,
        to,
        seed: seedOf(target.file.path),
      };
    });

    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed + base.arrayBuffers;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
    }, 20);

    // Each client checks bytes as they arrive and keeps none: only the server's buffering shows.
    const results = await Promise.all(
      jobs.map(
        (job) =>
          new Promise<{ ok: boolean; bytes: number; status: number }>((resolve, reject) => {
            const req = httpRequest(job.url, { headers: { range: job.header } }, (res) => {
              let pos = job.from;
              let ok = res.headers['content-range'] === `bytes ${job.from}-${job.to}/${64 * MiB}`;
              res.on('data', (chunk: Buffer) => {
                for (let k = 0; k < chunk.length && ok; k += 997) {
                  if (chunk[k] !== byteAt(job.seed, pos + k)) ok = false;
                }
                if (ok && !chunk.equals(expectedBytes(job.seed, pos, pos + chunk.length - 1))) ok = false;
                pos += chunk.length;
              });
              res.on('end', () => resolve({ ok, bytes: pos - job.from, status: res.statusCode ?? 0 }));
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    clearInterval(sampler);

    results.forEach((r, i) => {
      const job = jobs[i]!;
      expect(r.status, job.header).toBe(206);
      expect(r.bytes, job.header).toBe(job.to - job.from + 1);
      expect(r.ok, job.header).toBe(true);
    });
    const total = results.reduce((s, r) => s + r.bytes, 0);
    expect(total).toBeGreaterThan(350 * MiB);
    const heapGrowth = peakHeap - (base.heapUsed + base.arrayBuffers);
    const rssGrowth = peakRss - base.rss;
    console.log(
      `100 clients, ${(total / MiB).toFixed(0)} MiB served: peak heap+buffers +${(heapGrowth / MiB).toFixed(1)} MiB, peak RSS +${(rssGrowth / MiB).toFixed(1)} MiB`,
    );
    // Buffering whole ranges would need > 350 MiB; streaming needs a few high-water marks per client.
    expect(heapGrowth).toBeLessThan(192 * MiB);
    expect(rssGrowth).toBeLessThan(256 * MiB);
    await until(() => bigLog.live === 0);
  });
});

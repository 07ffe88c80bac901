/**
 * Server overhead of http-stream on loopback, with a source that costs nothing (one preallocated
 * buffer, sliced): what the HTTP layer adds on top of the engine. Run:
 *   node --import tsx packages/http-stream/bench/http-range.ts
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createStreamServer, type SeekableFile } from '../src/index.js';

const MiB = 1024 * 1024;
const BLOCK = Buffer.alloc(64 * 1024, 0x5a);

function freeFile(size: number): SeekableFile {
  return {
    path: 'bench.mkv',
    size,
    etag: `bench:${size}`,
    createReadStream(start, end, signal) {
      let pos = start;
      const stream = new Readable({
        read() {
          if (pos > end) return void this.push(null);
          const len = Math.min(BLOCK.length, end - pos + 1);
          pos += len;
          this.push(len === BLOCK.length ? BLOCK : BLOCK.subarray(0, len));
        },
      });
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
      return stream;
    },
  };
}

function fetchBytes(url: string, range?: string): Promise<{ bytes: number; ttfbMs: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: range ? { range } : {} }, (res) => {
      const ttfbMs = performance.now() - t0;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () => resolve({ bytes, ttfbMs }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<string> {
  const size = 4096 * MiB;
  const server = await createStreamServer({ files: () => [freeFile(size)] }, { host: '127.0.0.1', port: 0 });
  const url = `${server.url}/stream/${'b'.repeat(40)}/0`;
  try {
    // One client, 1 GiB sequential.
    let t = performance.now();
    const one = await fetchBytes(url, `bytes=0-${1024 * MiB - 1}`);
    const oneMiBs = one.bytes / MiB / ((performance.now() - t) / 1000);

    // 100 concurrent clients, 8 MiB each at scattered offsets.
    t = performance.now();
    const many = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const start = (i * 37 * MiB + i) % (size - 8 * MiB);
        return fetchBytes(url, `bytes=${start}-${start + 8 * MiB - 1}`);
      }),
    );
    const manyBytes = many.reduce((s, r) => s + r.bytes, 0);
    const manyMiBs = manyBytes / MiB / ((performance.now() - t) / 1000);

    // Time to response headers for a small range (a player's seek), 200 sequential requests.
    const ttfb: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = (i * 7_919 * 4096) % (size - 65_536);
      ttfb.push((await fetchBytes(url, `bytes=${start}-${start + 65_535}`)).ttfbMs);
    }
    return [
      '## HTTP Range server overhead (packages/http-stream)',
      '',
      'Loopback, a zero-cost source (the engine is not involved), Node 20:',
      '',
      '| Measure | Result |',
      '|---|---|',
      `| 1 client, 1 GiB sequential | ${oneMiBs.toFixed(0)} MiB/s |`,
      `| 100 concurrent clients, 8 MiB ranges each | ${manyMiBs.toFixed(0)} MiB/s aggregate |`,
      `| time to headers, 64 KiB range, median of 200 | ${median(ttfb).toFixed(2)} ms |`,
      '',
      'Command: `node --import tsx packages/http-stream/bench/http-range.ts`',
      '',
    ].join('\n');
  } finally {
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}

// Issue 4, end to end: 100 range clients at once on three torrents, each downloading from its own
// capped libtorrent seeder while the clients read. Every byte is checked against the source as it
// arrives (nothing kept, so the process's memory is the engine's and the server's), and the RSS
// of this process stays bounded.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Torrent } from '../src/engine/torrent.js';
import {
  addSeed,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  spyReaders,
  startNode,
  streamUrl,
} from './streaming-helpers.js';

const TORRENTS = 3;
const SIZE = 12 * MiB;
const PIECE = 256 * KiB;
const CAP = 4 * MiB;
const CLIENTS = 100;
/** A generous bound: 100 readers with their windows, sockets and buffers are a few tens of MiB. */
const RSS_GROWTH_LIMIT = 300 * MiB;

const seeds: Seed[] = [];
let node: StreamingNode | undefined;

beforeAll(async () => {
  for (let i = 0; i < TORRENTS; i++) {
    seeds.push(
      await seedRandomFile(`part${i}.mkv`, SIZE, { pieceLength: PIECE, uploadLimit: CAP, seed: 100 + i }),
    );
  }
  node = await startNode();
}, 90_000);

afterAll(async () => {
  await node?.stop();
  for (const s of seeds) await s.stop();
});

/** mulberry32: a small seeded PRNG, so a failure names a reproducible client. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Job {
  seed: Seed;
  header: string;
  start: number;
  end: number;
}

function jobs(random: () => number): Job[] {
  const out: Job[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const seed = seeds[i % TORRENTS]!;
    const kind = Math.floor(random() * 4);
    const len = 1 + Math.floor(random() * MiB);
    if (kind === 0) {
      const n = len;
      out.push({ seed, header: `bytes=-${n}`, start: SIZE - n, end: SIZE - 1 });
    } else if (kind === 1) {
      const start = SIZE - len;
      out.push({ seed, header: `bytes=${start}-`, start, end: SIZE - 1 });
    } else if (kind === 2) {
      // A piece boundary, give or take a byte.
      const start = Math.max(0, Math.floor(random() * (SIZE / PIECE)) * PIECE - Math.floor(random() * 2));
      const end = Math.min(SIZE - 1, start + len - 1);
      out.push({ seed, header: `bytes=${start}-${end}`, start, end });
    } else {
      const start = Math.floor(random() * SIZE);
      const end = Math.min(SIZE - 1, start + len - 1);
      out.push({ seed, header: `bytes=${start}-${end}`, start, end });
    }
  }
  return out;
}

/** GET one range and compare each chunk with the source as it arrives; resolves with the byte count. */
function checkRange(url: string, job: Job, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let offset = job.start;
    const fail = (why: string) => {
      req.destroy();
      reject(new Error(`${job.seed.infoHash} ${job.header}: ${why}`));
    };
    const timer = setTimeout(() => fail(`not complete after ${timeoutMs} ms (at ${offset})`), timeoutMs);
    const req = http.get(url, { agent: false, headers: { Range: job.header } }, (res) => {
      if (res.statusCode !== 206) return fail(`status ${res.statusCode}`);
      if (res.headers['content-range'] !== `bytes ${job.start}-${job.end}/${SIZE}`)
        return fail(`content-range ${res.headers['content-range']}`);
      let checking = Promise.resolve();
      res.on('data', (chunk: Buffer) => {
        const at = offset;
        offset += chunk.length;
        checking = checking.then(async () => {
          if (!chunk.equals(await job.seed.bytes(at, chunk.length)))
            fail(`wrong bytes in ${at}..${at + chunk.length - 1}`);
        });
      });
      res.on('end', () => {
        void checking.then(() => {
          clearTimeout(timer);
          if (offset !== job.end + 1) return fail(`ended at ${offset}`);
          resolve(offset - job.start);
        });
      });
      res.on('error', (err) => fail(err.message));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('100 concurrent range clients on three downloading torrents', () => {
  it('all bytes correct, memory bounded', async () => {
    const n = node!;
    const torrents: Torrent[] = [];
    for (const s of seeds) torrents.push(await addSeed(n, s));
    const spies = torrents.map((t) => spyReaders(t));
    const listenersBefore = torrents.map((t) => t.store?.listenerCount('piece') ?? 0);
    const progressBefore = torrents.map((t) => t.summary().progress);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 100);
    try {
      const todo = jobs(rng(20_261_122));
      const bytes = await Promise.all(
        todo.map((job) => checkRange(streamUrl(n, job.seed.infoHash, 0), job, 90_000)),
      );
      const total = bytes.reduce((a, b) => a + b, 0);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      console.log(
        `${CLIENTS} clients, ${(total / MiB).toFixed(1)} MiB checked; RSS ${(rssBefore / MiB).toFixed(0)} MiB before, ` +
          `peak ${(rssPeak / MiB).toFixed(0)} MiB (+${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB)`,
      );
      expect(bytes).toHaveLength(CLIENTS);
      console.log(
        `progress when the clients started: ${progressBefore.map((p) => `${(100 * p).toFixed(0)}%`).join(', ')}`,
      );
      // Nothing left behind: no reader window registered, no 'piece' listener beyond the head/tail
      // priming ones still waiting for their pieces (two per file at most).
      for (const [i, t] of torrents.entries()) {
        expect([...spies[i]!.live.keys()].filter((id) => id.startsWith('reader:'))).toEqual([]);
        expect(t.store?.listenerCount('piece') ?? 0).toBeLessThanOrEqual(listenersBefore[i]! + 2);
      }
      expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    } finally {
      clearInterval(sampler);
    }
  }, 150_000);
});

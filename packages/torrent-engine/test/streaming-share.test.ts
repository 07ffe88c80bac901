// Issue 4: streams of several torrents at once share bandwidth fairly. One engine with a download
// limit of 4 MiB/s streams two torrents over HTTP while three other torrents download in the
// background, each from its own uncapped libtorrent seeder on loopback. Without a division of the
// budget the five torrents race for the same tokens (measured before engine/bandwidth.ts: streams
// 1.13 and 1.29 MiB/s, barely their media rate, the downloads 1.61 MiB/s together); with it each
// stream is owed 1.5x its media rate first and the downloads get what is left (measured: streams
// 1.83 and 1.96 MiB/s, the downloads 0.19 MiB/s). A user
// checks: both videos keep up with their media rate, neither is favoured over the other, the
// downloads still move, and every byte played is the source's.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateBytesPerSecond } from '../src/scheduler/index.js';
import { waitFor } from './peers/checks.js';
import {
  addSeed,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  startNode,
  streamUrl,
} from './streaming-helpers.js';

const SIZE = 48 * MiB;
const ARCHIVES = 3;
const PIECE = 256 * KiB;
const LIMIT = 4 * MiB;
const WARM_UP_MS = 2_000;
const MEASURE_MS = 6_000;

const seeds: Seed[] = [];
let node: StreamingNode | undefined;

beforeAll(async () => {
  const names = ['one.mp4', 'two.mp4', ...Array.from({ length: ARCHIVES }, (_, i) => `archive-${i}.bin`)];
  for (const [i, name] of names.entries())
    seeds.push(await seedRandomFile(name, i < 2 ? SIZE : SIZE / 2, { pieceLength: PIECE, seed: 40 + i }));
  node = await startNode();
  node.engine.setLimits({ download: LIMIT });
}, 90_000);

afterAll(async () => {
  await node?.stop();
  for (const s of seeds) await s.stop();
});

/** A player that reads as fast as the server sends: counts bytes and checks them against the source. */
function play(url: string, seed: Seed) {
  let received = 0;
  let mismatch: string | undefined;
  const checks: Promise<void>[] = [];
  const req = http.get(url, { agent: false }, (res) => {
    res.on('data', (chunk: Buffer) => {
      const at = received;
      received += chunk.length;
      checks.push(
        seed.bytes(at, chunk.length).then((want) => {
          if (!want.equals(chunk)) mismatch ??= `bytes ${at}-${at + chunk.length - 1} differ from the source`;
        }),
      );
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  return {
    received: () => received,
    async stop() {
      req.destroy();
      await Promise.all(checks);
      return mismatch;
    },
  };
}

describe('several torrents under one download limit', () => {
  it('two streams each keep their media rate and get the same share; downloads get the rest', async () => {
    const n = node!;
    const [one, two, ...archives] = seeds as [Seed, Seed, ...Seed[]];
    const tOne = await addSeed(n, one);
    const tTwo = await addSeed(n, two);
    await waitFor(() => tOne.store !== undefined && tTwo.store !== undefined, 30_000, 'storage open');
    const players = [play(streamUrl(n, one.infoHash), one), play(streamUrl(n, two.infoHash), two)];
    const tArchives = await Promise.all(archives.map((a) => addSeed(n, a)));
    const archived = () => tArchives.reduce((sum, t) => sum + t.downloaded, 0);
    await new Promise((r) => setTimeout(r, WARM_UP_MS));
    const start = { one: players[0]!.received(), two: players[1]!.received(), archive: archived() };
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const seconds = MEASURE_MS / 1000;
    const rate = {
      one: (players[0]!.received() - start.one) / seconds,
      two: (players[1]!.received() - start.two) / seconds,
      archives: (archived() - start.archive) / seconds,
    };
    const mismatches = await Promise.all(players.map((p) => p.stop()));
    const media = estimateBytesPerSecond({ length: SIZE });
    const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB/s`;
    const report = `one ${mib(rate.one)}, two ${mib(rate.two)}, ${ARCHIVES} downloads ${mib(rate.archives)}, media rate ${mib(media)}, limit ${mib(LIMIT)}`;

    expect(mismatches, report).toEqual([undefined, undefined]);
    // Both videos play without falling behind.
    expect(rate.one, report).toBeGreaterThanOrEqual(media);
    expect(rate.two, report).toBeGreaterThanOrEqual(media);
    // Neither stream is favoured (shares are equal; the margin is for bursts at the window's edges).
    expect(rate.one / rate.two, report).toBeGreaterThan(0.67);
    expect(rate.one / rate.two, report).toBeLessThan(1.5);
    // The downloads still move, but streams come first: each gets more than the three together.
    expect(rate.archives, report).toBeGreaterThan(0);
    expect(rate.archives, report).toBeLessThan(Math.min(rate.one, rate.two));
    // And the limit holds for all of them together (25% slack: the buckets' bursts).
    expect(rate.one + rate.two + rate.archives, report).toBeLessThan(LIMIT * 1.25);
  }, 60_000);
});

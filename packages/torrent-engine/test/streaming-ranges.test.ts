// Issue 4, end to end: random HTTP ranges of /stream/<infohash>/0 while the engine is still
// downloading the file from a rate-capped libtorrent seeder. Every answer is a 206 whose bytes are
// exactly the source's: the reader waits for verified pieces and never serves a hole.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Torrent } from '../src/engine/torrent.js';
import {
  addSeed,
  httpGet,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  startNode,
  streamUrl,
} from './streaming-helpers.js';

const SIZE = 24 * MiB;
const PIECE = 256 * KiB;
// 2 MiB/s: the whole file takes about 12 s, so the first runs read pieces that are still coming.
const CAP = 2 * MiB;

let seed: Seed | undefined;
let node: StreamingNode | undefined;
let torrent: Torrent;

beforeAll(async () => {
  seed = await seedRandomFile('movie.mkv', SIZE, { pieceLength: PIECE, uploadLimit: CAP, seed: 41 });
  node = await startNode();
  torrent = await addSeed(node, seed);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await seed?.stop();
});

/** A Range header and the inclusive byte range it selects in a file of SIZE bytes. */
interface Case {
  header: string;
  start: number;
  end: number;
}

const PIECES = SIZE / PIECE;
const arbCase: fc.Arbitrary<Case> = fc.oneof(
  // Around a piece boundary: one byte before, at, or after it; short or spanning a few pieces.
  fc
    .tuple(
      fc.integer({ min: 0, max: PIECES }),
      fc.integer({ min: -1, max: 1 }),
      fc.integer({ min: 1, max: 3 * PIECE }),
    )
    .map(([k, d, len]) => {
      const start = Math.min(SIZE - 1, Math.max(0, k * PIECE + d));
      const end = Math.min(SIZE - 1, start + len - 1);
      return { header: `bytes=${start}-${end}`, start, end };
    }),
  // Anywhere, any short length; a last byte past the end is clamped (RFC 9110 14.1.2).
  fc
    .tuple(fc.integer({ min: 0, max: SIZE - 1 }), fc.integer({ min: 1, max: 2 * MiB }))
    .map(([start, len]) => ({
      header: `bytes=${start}-${start + len - 1}`,
      start,
      end: Math.min(SIZE - 1, start + len - 1),
    })),
  // Suffix ranges: the last N bytes.
  fc
    .integer({ min: 1, max: 2 * MiB })
    .map((n) => ({ header: `bytes=-${n}`, start: SIZE - n, end: SIZE - 1 })),
  // Open-ended ranges, to the end of the file.
  fc
    .integer({ min: SIZE - 4 * MiB, max: SIZE - 1 })
    .map((s) => ({ header: `bytes=${s}-`, start: s, end: SIZE - 1 })),
  fc.constantFrom<Case>(
    { header: 'bytes=0-0', start: 0, end: 0 },
    { header: 'bytes=0-1', start: 0, end: 1 },
    { header: `bytes=${SIZE - 1}-${SIZE - 1}`, start: SIZE - 1, end: SIZE - 1 },
    { header: `bytes=${SIZE - 1}-`, start: SIZE - 1, end: SIZE - 1 },
    { header: 'bytes=-1', start: SIZE - 1, end: SIZE - 1 },
    { header: `bytes=${PIECE - 1}-${PIECE}`, start: PIECE - 1, end: PIECE },
  ),
);

describe('random ranges while downloading from a capped seeder', () => {
  it('every byte of every range equals the source', async () => {
    const url = streamUrl(node!, seed!.infoHash, 0);
    let runs = 0;
    let runsWhileIncomplete = 0;
    let firstProgress: number | undefined;
    await fc.assert(
      fc.asyncProperty(arbCase, async (c) => {
        runs++;
        const have = torrent.store?.have.count() ?? 0;
        firstProgress ??= have / PIECES;
        if (have < PIECES) runsWhileIncomplete++;
        const res = await httpGet(url, { Range: c.header });
        expect(res.status, c.header).toBe(206);
        expect(res.headers['content-range'], c.header).toBe(`bytes ${c.start}-${c.end}/${SIZE}`);
        expect(res.body.length, c.header).toBe(c.end - c.start + 1);
        const expected = await seed!.bytes(c.start, c.end - c.start + 1);
        // Buffer.equals, not toEqual: a mismatch in 2 MiB should say where, not print megabytes.
        if (!res.body.equals(expected)) {
          let i = 0;
          while (res.body[i] === expected[i]) i++;
          throw new Error(`${c.header}: first wrong byte at file offset ${c.start + i}`);
        }
      }),
      { numRuns: 40, endOnFailure: true },
    );
    console.log(
      `ranges: ${runs} runs, ${runsWhileIncomplete} while the torrent was incomplete (first at ${(100 * (firstProgress ?? 0)).toFixed(1)}% of pieces)`,
    );
    // The property is about a torrent still downloading: at least the first runs were.
    expect(firstProgress).toBeLessThan(0.5);
    expect(runsWhileIncomplete).toBeGreaterThan(0);
  }, 150_000);
});

// Issue 4, end to end: a seek cancels. A player streaming from 10% of a file (seeder capped) closes
// its connection and asks for 80%: the new range arrives with the right bytes, the old reader's
// window is gone from the torrent at once (only the new reader remains), and the download moves to
// the new place instead of continuing through the middle of the file.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './peers/checks.js';
import {
  addSeed,
  connectSeed,
  httpGet,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  spyReaders,
  startNode,
  streamUrl,
  verifiedPieces,
} from './streaming-helpers.js';

const SIZE = 24 * MiB;
const PIECE = 256 * KiB;
const CAP = 2 * MiB;

let seed: Seed | undefined;
let node: StreamingNode | undefined;

beforeAll(async () => {
  seed = await seedRandomFile('show.mkv', SIZE, { pieceLength: PIECE, uploadLimit: CAP, seed: 5 });
  node = await startNode();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await seed?.stop();
});

const streamReaders = (live: Map<string, unknown>) =>
  [...live.keys()].filter((id) => id.startsWith('reader:'));

describe('seek while streaming from a capped seeder', () => {
  it('closing the 10% reader and opening one at 80%: new bytes correct, old window gone', async () => {
    const s = seed!;
    const n = node!;
    const torrent = await addSeed(n, s, false);
    const readers = spyReaders(torrent);
    const url = streamUrl(n, s.infoHash, 0);
    const at10 = Math.floor(0.1 * SIZE);
    const at80 = Math.floor(0.8 * SIZE);

    // The first reader, from 10% to the end: wait for its first bytes, then hang up.
    let first: http.ClientRequest | undefined;
    let firstReader: string | undefined;
    try {
      const gotBytes = new Promise<void>((resolve, reject) => {
        first = http.get(url, { agent: false, headers: { Range: `bytes=${at10}-` } }, (res) => {
          if (res.statusCode !== 206) reject(new Error(`first GET answered ${res.statusCode}`));
          res.once('data', () => resolve());
          res.on('error', () => {});
        });
        first.on('error', () => {});
      });
      firstReader = await waitFor(() => streamReaders(readers.live)[0], 30_000, 'the first reader');
      connectSeed(n, s);
      await gotBytes;
    } finally {
      first?.destroy();
    }

    // The seek: a new range at 80% (to the end), while the old connection is closing.
    const second = httpGet(url, { Range: `bytes=${at80}-` }, 60_000);
    const secondReader = await waitFor(
      () => streamReaders(readers.live).find((id) => id !== firstReader),
      30_000,
      'the reader at 80%',
    );
    await waitFor(() => !readers.live.has(firstReader!), 10_000, 'the old reader to be unregistered');
    // While the new range is still streaming, it is the torrent's only stream reader.
    expect(streamReaders(readers.live)).toEqual([secondReader]);

    const res = await second;
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${at80}-${SIZE - 1}/${SIZE}`);
    expect(res.body.equals(await s.bytes(at80, SIZE - at80))).toBe(true);

    // Where the bytes went, at the moment the new range completed: everything after 80%, and of
    // the middle of the file (well past what the old reader's small window could cover) next to
    // nothing: at most the two pieces one background request round may start while no reader is
    // registered between the hang-up and the new request.
    const lastPiece = SIZE / PIECE - 1;
    const from80 = Math.floor(at80 / PIECE);
    const midFirst = Math.ceil((at10 + 8 * MiB) / PIECE);
    const afterSeek = verifiedPieces(torrent, from80, lastPiece);
    const middle = verifiedPieces(torrent, midFirst, from80 - 1);
    console.log(
      `seek 10% -> 80%: ${afterSeek}/${lastPiece - from80 + 1} pieces after 80% verified, ` +
        `${middle}/${from80 - midFirst} pieces in the middle (${((midFirst * PIECE) / MiB).toFixed(1)}-${(at80 / MiB).toFixed(1)} MiB)`,
    );
    expect(afterSeek).toBe(lastPiece - from80 + 1);
    expect(middle).toBeLessThanOrEqual(2);
  }, 120_000);
});

// Issue 4, end to end: a paused player must not eat the user's bandwidth. A client GETs a whole
// 64 MiB file from our engine, reads the first 8 MiB, then stops reading with the connection still
// open. The seeder is NOT capped, so an engine without a bound would fetch the whole file in a
// second or two; ours must stop once the reader's readahead window (plus one piece) is downloaded.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  estimateBytesPerSecond,
  primePieces,
  READAHEAD_DEFAULTS,
  ReadaheadWindow,
} from '../src/scheduler/index.js';
import { waitFor } from './peers/checks.js';
import { kernelQueuedBytes } from './peers/tcp-queues.js';
import {
  addSeed,
  connectSeed,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  spyReaders,
  startNode,
  streamUrl,
  verifiedBytesFrom,
} from './streaming-helpers.js';

const SIZE = 64 * MiB;
const PIECE = 256 * KiB;
const READ_FIRST = 8 * MiB;
// stream.readahead_seconds for this node: 10 s of media makes a 10 MiB window here (see below), so
// "window + one piece" and "the whole file" are far apart.
const READAHEAD_SECONDS = 10;

/**
 * Bytes that left the engine's reader but that the client has not consumed, in Node's streams:
 * the file stream's buffer (highWaterMark 256 KiB, src/stream/file-stream.ts) plus the chunk it is
 * pushing, http-stream's Readable.from over it (one chunk), the response socket's writable buffer
 * (one 256 KiB chunk + 16 KiB), and the client's IncomingMessage (16 KiB + a 64 KiB socket read or
 * two): about 1.1 MiB. Twice that, so that a chunk more or less somewhere does not fail the test.
 * The kernel's share (the loopback connection's send and receive queues, which autotune up to
 * several MiB here) is not a constant: it is measured from /proc/net/tcp at the moment of the check.
 */
const NODE_STREAM_ALLOWANCE = 2 * (4 * 256 * KiB + 2 * 64 * KiB);

let seed: Seed | undefined;
let node: StreamingNode | undefined;

beforeAll(async () => {
  seed = await seedRandomFile('film.mp4', SIZE, { pieceLength: PIECE, seed: 7 });
  node = await startNode({ readaheadSeconds: READAHEAD_SECONDS });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await seed?.stop();
});

describe('readahead bound with an uncapped seeder', () => {
  it('a reader that stops reading: downloaded bytes beyond it stay within the window plus one piece', async () => {
    const s = seed!;
    const n = node!;
    const torrent = await addSeed(n, s, false);
    const readers = spyReaders(torrent);

    // The window as src/scheduler/readahead.ts sizes it for this file and this node's config.
    const bytesPerSecond = estimateBytesPerSecond({ length: SIZE });
    const window = new ReadaheadWindow({
      fileOffset: 0,
      fileLength: SIZE,
      pieceLength: PIECE,
      bytesPerSecond,
      readaheadSeconds: READAHEAD_SECONDS,
    }).fullSize;
    expect(window).toBe(Math.max(READAHEAD_DEFAULTS.floorBytes, READAHEAD_SECONDS * bytesPerSecond));

    let consumed = 0;
    let req: http.ClientRequest | undefined;
    let res: http.IncomingMessage | undefined;
    try {
      const paused = new Promise<void>((resolve, reject) => {
        req = http.get(streamUrl(n, s.infoHash, 0), { agent: false }, (r) => {
          res = r;
          if (r.statusCode !== 200) reject(new Error(`GET answered ${r.statusCode}`));
          r.on('data', (chunk: Buffer) => {
            consumed += chunk.length;
            if (consumed >= READ_FIRST) {
              r.pause();
              resolve();
            }
          });
          r.on('error', reject);
        });
        req.on('error', reject);
      });
      // Once the reader is registered, give the engine its seeder. (Connected earlier, a torrent
      // with no reader yet would rightly download everything in the background.)
      await waitFor(() => readers.ever.size > 0, 30_000, 'the stream to open its reader');
      connectSeed(n, s);
      await paused;

      // Wait until the engine has stopped fetching: no new payload for 3 s (bounded at 45 s).
      let last = -1;
      let stableSince = Date.now();
      await waitFor(
        () => {
          const now = torrent.summary().downloaded;
          if (now !== last) {
            last = now;
            stableSince = Date.now();
          }
          return Date.now() - stableSince >= 3000;
        },
        45_000,
        'the engine to stop downloading for the paused reader',
        250,
      );

      const summary = torrent.summary();
      const reader = [...readers.live.entries()].find(([id]) => id.startsWith('reader:'))?.[1];
      expect(reader, 'the paused reader is still registered').toBeDefined();
      // The torrent's detail (GET /api/torrents/:infohash) shows that window as it is.
      expect(torrent.detail().readers.find((r) => r.id === reader!.id)).toEqual(reader);
      const enginePos = reader!.playhead;
      const socket = req!.socket!;
      const kernel = kernelQueuedBytes(socket.localPort!, socket.remotePort!);
      // The tail priming (about 1% of the file) is fetched whatever the reader does.
      const tailPrime = primePieces({ offset: 0, length: SIZE }, PIECE)
        .filter((i) => i * PIECE >= enginePos + window)
        .reduce((sum, i) => sum + Math.min(PIECE, SIZE - i * PIECE), 0);

      const beyondEngine = verifiedBytesFrom(torrent, enginePos);
      const beyondClient = verifiedBytesFrom(torrent, consumed);
      console.log(
        `paused reader: client consumed ${(consumed / MiB).toFixed(2)} MiB, engine reader at ${(enginePos / MiB).toFixed(2)} MiB ` +
          `(${((enginePos - consumed) / MiB).toFixed(2)} MiB in buffers, kernel queues ${(kernel / MiB).toFixed(2)} MiB); ` +
          `verified beyond the engine reader ${(beyondEngine / MiB).toFixed(2)} MiB, beyond the client ${(beyondClient / MiB).toFixed(2)} MiB ` +
          `(window ${(window / MiB).toFixed(2)} MiB + piece + tail prime ${(tailPrime / MiB).toFixed(2)} MiB); ` +
          `downloaded ${(summary.downloaded / MiB).toFixed(2)} of ${SIZE / MiB} MiB`,
      );

      // The engine's side: the window, one piece of rounding, the tail priming; nothing more.
      expect(beyondEngine).toBeLessThanOrEqual(window + PIECE + tailPrime);
      // The player's side adds what sits in buffers between the engine's reader and the client.
      expect(enginePos - consumed).toBeLessThanOrEqual(kernel + NODE_STREAM_ALLOWANCE);
      expect(beyondClient).toBeLessThanOrEqual(window + PIECE + tailPrime + kernel + NODE_STREAM_ALLOWANCE);
      // And far less than the file: every payload byte received, duplicates included.
      expect(summary.downloaded).toBeLessThan(SIZE / 2);
      expect(summary.progress).toBeLessThan(0.5);
    } finally {
      res?.destroy();
      req?.destroy();
    }
  }, 120_000);
});

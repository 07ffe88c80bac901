// Issue 4, hybrid torrents (BEP 52): a reader inside a big piece gets its first bytes when the
// blocks it reads have arrived and matched their leaf hashes, not when the whole piece has. The
// seeder is real libtorrent 2.x (which made the hybrid torrent, as qBittorrent does), capped so
// that one 4 MiB piece takes about four seconds; the bytes served are compared with the source.

import { join } from 'node:path';
import { createLogger } from '@dream/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent } from '../src/create/index.js';
import { Engine } from '../src/engine/engine.js';
import { parseTorrent, toMagnet } from '../src/metainfo/index.js';
import { waitFor } from './peers/checks.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';
import { startHostilePeer } from './peers/hostile-peer.js';
import {
  httpGet,
  KiB,
  MiB,
  type Seed,
  type StreamingNode,
  seedRandomFile,
  startNode,
  streamUrl,
} from './streaming-helpers.js';

const SIZE = 24 * MiB + 5 * KiB; // the last piece is short, and so is the file's last block
const PIECE = 4 * MiB;
const CAP = 1 * MiB;

let seed: Seed | undefined;
let v1Seed: Seed | undefined;
let node: StreamingNode | undefined;

beforeAll(async () => {
  // seedMode false: libtorrent hashes its files first; in seed mode it rejects hash requests.
  [seed, v1Seed] = await Promise.all([
    seedRandomFile('film.mkv', SIZE, {
      pieceLength: PIECE,
      uploadLimit: CAP,
      seed: 7,
      flavour: 'libtorrent-hybrid',
      seedMode: false,
    }),
    seedRandomFile('film-v1.mkv', SIZE, {
      pieceLength: PIECE,
      uploadLimit: CAP,
      seed: 8,
      flavour: 'libtorrent-v1',
    }),
  ]);
  node = await startNode();
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await Promise.all([seed?.stop(), v1Seed?.stop()]);
});

/**
 * Adds a torrent to node `n` (from its .torrent or a magnet) with one peer, opens the file as
 * a player does (its head, while the engine primes head and tail), waits for the primed pieces,
 * then seeks: reads 64 KiB at `inPiece` bytes into the first piece from 2 on not verified yet (the
 * engine may have fetched some in the background while it waited). Reports whether that piece was
 * verified whole by the time the bytes came. `source` gives the expected bytes.
 */
async function seekAfterOpening(
  n: StreamingNode,
  input: { torrent: Uint8Array } | { magnet: string },
  infohash: string,
  peerPort: number,
  source: Seed,
  inPiece: number,
) {
  await n.engine.add(input, { peers: [{ host: '127.0.0.1', port: peerPort }] });
  const torrent = n.engine.torrent(infohash)!;
  const url = streamUrl(n, infohash, 0);
  const head = await httpGet(url, { Range: 'bytes=0-16383' }, 60_000);
  expect(head.body.equals(await source.bytes(0, 16 * KiB))).toBe(true);
  const last = Math.ceil(SIZE / PIECE) - 1;
  await waitFor(() => torrent.store!.have.get(last) || undefined, 60_000, 'the primed tail');
  let piece = 2;
  while (torrent.store!.isVerified(piece) && piece < last - 1) piece++;
  expect(torrent.store!.isVerified(piece)).toBe(false);
  const offset = piece * PIECE + inPiece;
  let pieceVerifiedAt: number | undefined;
  torrent.store!.on('verified', (i: number) => {
    if (i === piece) pieceVerifiedAt ??= Date.now();
  });
  const answer = await httpGet(url, { Range: `bytes=${offset}-${offset + 64 * KiB - 1}` }, 60_000);
  const bytesAt = Date.now();
  expect(answer.status).toBe(206);
  expect(answer.body.equals(await source.bytes(offset, 64 * KiB))).toBe(true);
  return { verifiedBefore: pieceVerifiedAt !== undefined && pieceVerifiedAt <= bytesAt, torrent };
}

/** A quarter into a piece. */
const SEEK = 1 * MiB + 100;

describe('reading blocks of a hybrid torrent before their piece is complete', () => {
  it.each([
    // The piece could not have come whole at 1 MiB/s by then: the bytes came from checked blocks.
    [
      'a hybrid torrent serves the first 64 KiB of a seek into a 4 MiB piece from checked blocks',
      () => seed!,
      false,
    ],
    ['a v1 torrent waits for the whole piece (control)', () => v1Seed!, true],
  ])(
    '%s, byte-exact',
    async (_what, which, wholeFirst) => {
      const s = which();
      const { verifiedBefore } = await seekAfterOpening(
        node!,
        { torrent: s.torrent },
        s.infoHash,
        s.peer.port,
        s,
        SEEK,
      );
      expect(verifiedBefore).toBe(wholeFirst);
    },
    60_000,
  );

  it("from a magnet (no piece layers): fetches the file's layer from the seeder first", async () => {
    const s = seed!;
    const other = await startNode();
    try {
      const { verifiedBefore, torrent } = await seekAfterOpening(
        other,
        { magnet: toMagnet(parseTorrent(s.torrent)) }, // btih and btmh, as Dream's catalog lists them
        s.infoHash,
        s.peer.port,
        s,
        SEEK,
      );
      expect(verifiedBefore).toBe(false);
      expect(torrent.meta!.files[0]!.pieceLayer?.length).toBe(Math.ceil(SIZE / PIECE) * 32);
    } finally {
      await other.stop();
    }
  }, 60_000);

  it('reads the file to its end correctly (the short last block has its own leaf)', async () => {
    const s = seed!;
    const offset = SIZE - 200 * KiB;
    const answer = await httpGet(streamUrl(node!, s.infoHash, 0), { Range: `bytes=${offset}-` }, 60_000);
    expect(answer.status).toBe(206);
    expect(answer.body.equals(await s.bytes(offset, SIZE - offset))).toBe(true);
  }, 60_000);

  it("asks for the next piece's leaves while the player is still in the one before", async () => {
    const s = seed!;
    const other = await startNode();
    try {
      await other.engine.add({ torrent: s.torrent }, { peers: [{ host: '127.0.0.1', port: s.peer.port }] });
      const torrent = other.engine.torrent(s.infoHash)!;
      const leaves = (piece: number) => torrent.blockChecking.leavesHeld(piece) || undefined;
      const url = streamUrl(other, s.infoHash, 0);
      const offset = 2 * PIECE + 1 * MiB;
      const controller = new AbortController();
      const res = await fetch(url, { headers: { Range: `bytes=${offset}-` }, signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read(); // the first checked blocks of piece 2 came
      try {
        await waitFor(() => leaves(3), 10_000, "piece 3's leaves");
        // At 1 MiB/s piece 2 takes about 4 s: the player is still in it.
        expect(torrent.store!.isVerified(2)).toBe(false);
      } finally {
        controller.abort();
      }
    } finally {
      await other.stop();
    }
  }, 60_000);

  it('drops a block that fails its leaf hash, bans its sender at once, and serves only right bytes', async () => {
    const s = seed!;
    // A second node, and a peer that serves wrong bytes for piece 3 (honest elsewhere), uncapped.
    const other = await startNode();
    const bad = await startHostilePeer({ torrent: s.torrent, dir: s.dir, corrupt: { pieces: [3] } });
    try {
      await other.engine.add({ torrent: s.torrent }, { peers: [{ host: '127.0.0.1', port: s.peer.port }] });
      const torrent = other.engine.torrent(s.infoHash)!;
      const bans: { address: string; reason: string }[] = [];
      torrent.on('ban', (b: { address: string; reason: string }) => bans.push(b));
      const failures: number[] = [];
      torrent.on('hash-failure', (i: number) => failures.push(i));
      const url = streamUrl(other, s.infoHash, 0);
      const head = await httpGet(url, { Range: 'bytes=0-16383' }, 60_000);
      expect(head.body.equals(await s.bytes(0, 16 * KiB))).toBe(true);
      // The seek into piece 3; once its leaves are in (from the honest seeder, the only one that
      // answers hash requests), the liar joins and, uncapped, sends most of what is left of it.
      // (Joining earlier, it could send the whole piece before the capped seeder's answer, and
      // the piece would fail its v1 hash as a whole: smart ban's case, engine-swarm.test.ts.)
      const offset = 3 * PIECE + 512 * KiB;
      const answer = httpGet(url, { Range: `bytes=${offset}-${offset + 2048 * KiB - 1}` }, 60_000);
      const leaves = (piece: number) => torrent.blockChecking.leavesHeld(piece) || undefined;
      await waitFor(() => leaves(3), 10_000, "piece 3's leaves");
      other.engine.addPeers(s.infoHash, [{ host: '127.0.0.1', port: bad.port }]);
      expect((await answer).body.equals(await s.bytes(offset, 2048 * KiB))).toBe(true);
      expect(bad.stats.corruptBlocksSent).toBeGreaterThan(0);
      expect(bans).toEqual([
        {
          address: `127.0.0.1:${bad.port}`,
          reason: expect.stringMatching(/^sent block \d+ of piece 3, which fails its v2 hash$/),
        },
      ]);
      // Caught block by block: piece 3 never failed its v1 hash as a whole.
      expect(failures).not.toContain(3);
    } finally {
      await other.stop();
      await bad.stop();
    }
  }, 90_000);

  it.each(['torrent', 'magnet'] as const)(
    'Dream to Dream, by %s: a Dream seeder of a torrent Dream made hybrid answers the hash requests',
    async (how) => {
      const s = seed!;
      const file = join(s.dir, 'film.mkv');
      const { torrent: made, meta } = await createTorrent(file, { hybrid: true, pieceLength: PIECE });
      const log = createLogger({ name: 'dream-seeder', level: 'silent' });
      const stateDir = await makeTempDir('dream-blocks-seeder-');
      // Capped like the libtorrent seeder, so a piece takes ~4 s to come whole.
      const seeder = await Engine.start({
        outputDir: stateDir,
        host: '127.0.0.1',
        port: 0,
        maxConnections: 20,
        log,
        trackers: false,
        uploadRateLimit: CAP,
      });
      const viewer = await startNode();
      try {
        await seeder.add({ torrent: made, path: file });
        const input = how === 'torrent' ? { torrent: made } : { magnet: toMagnet(meta) };
        const { verifiedBefore } = await seekAfterOpening(viewer, input, meta.infohash, seeder.port, s, SEEK);
        expect(verifiedBefore).toBe(false);
      } finally {
        await viewer.stop();
        await seeder.stop();
        await removeDir(stateDir);
      }
    },
    90_000,
  );

  it('a magnet whose btmh is wrong still streams: the v2 offer is dropped at the first refusal', async () => {
    const s = seed!;
    const other = await startNode();
    try {
      const wrong = `magnet:?xt=urn:btih:${s.infoHash}&xt=urn:btmh:1220${'ab'.repeat(32)}`;
      await other.engine.add({ magnet: wrong }, { peers: [{ host: '127.0.0.1', port: s.peer.port }] });
      const answer = await httpGet(streamUrl(other, s.infoHash, 0), { Range: 'bytes=0-65535' }, 60_000);
      expect(answer.status).toBe(206);
      expect(answer.body.equals(await s.bytes(0, 64 * KiB))).toBe(true);
      // The metadata's own v2 hash replaced the magnet's.
      expect(other.engine.torrent(s.infoHash)!.v2HandshakeHash()).toBe(
        parseTorrent(s.torrent).infohashV2!.slice(0, 40),
      );
    } finally {
      await other.stop();
    }
  }, 60_000);
});

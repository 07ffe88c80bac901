// Issue 4, hybrid torrents (BEP 52): a reader inside a big piece gets its first bytes when the
// blocks it reads have arrived and matched their leaf hashes, not when the whole piece has. The
// seeder is real libtorrent 2.x (which made the hybrid torrent, as qBittorrent does), capped so
// that one 4 MiB piece takes about four seconds; the bytes served are compared with the source.

import { join } from 'node:path';
import { createLogger } from '@dream/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent } from '../src/create/index.js';
import { Engine } from '../src/engine/engine.js';
import { waitFor } from './peers/checks.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';
import { startHostilePeer } from './peers/hostile-peer.js';
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
 * Opens the file as a player does (its head, while the engine primes head and tail), waits for the
 * primed pieces, then reads 64 KiB at `offset`: reports whether that piece was verified whole by
 * the time the bytes came.
 */
async function seekAfterOpening(s: Seed, offset: number) {
  const n = node!;
  const torrent = await addSeed(n, s);
  const url = streamUrl(n, s.infoHash, 0);
  const head = await httpGet(url, { Range: 'bytes=0-16383' }, 60_000);
  expect(head.body.equals(await s.bytes(0, 16 * KiB))).toBe(true);
  const last = Math.ceil(SIZE / PIECE) - 1;
  await waitFor(() => torrent.store!.have.get(last) || undefined, 60_000, 'the primed tail');
  const piece = Math.floor(offset / PIECE);
  let pieceVerifiedAt: number | undefined;
  torrent.store!.on('verified', (i: number) => {
    if (i === piece) pieceVerifiedAt ??= Date.now();
  });
  const answer = await httpGet(url, { Range: `bytes=${offset}-${offset + 64 * KiB - 1}` }, 60_000);
  const bytesAt = Date.now();
  return { answer, verifiedBefore: pieceVerifiedAt !== undefined && pieceVerifiedAt <= bytesAt, torrent };
}

describe('reading blocks of a hybrid torrent before their piece is complete', () => {
  it('serves the first 64 KiB of a seek into a 4 MiB piece from checked blocks, byte-exact', async () => {
    const s = seed!;
    const offset = 2 * PIECE + 1 * MiB + 100; // a quarter into piece 2
    const { answer, verifiedBefore } = await seekAfterOpening(s, offset);
    expect(answer.status).toBe(206);
    expect(answer.body.equals(await s.bytes(offset, 64 * KiB))).toBe(true);
    // The piece could not have come whole at 1 MiB/s by then: the bytes came from checked blocks.
    expect(verifiedBefore).toBe(false);
  }, 60_000);

  it('reads the file to its end correctly (the short last block has its own leaf)', async () => {
    const s = seed!;
    const offset = SIZE - 200 * KiB;
    const answer = await httpGet(streamUrl(node!, s.infoHash, 0), { Range: `bytes=${offset}-` }, 60_000);
    expect(answer.status).toBe(206);
    expect(answer.body.equals(await s.bytes(offset, SIZE - offset))).toBe(true);
  }, 60_000);

  it('drops a block that fails its leaf hash, bans its sender at once, and serves only right bytes', async () => {
    const s = seed!;
    // A second node, and a peer that serves wrong bytes for piece 3 (honest elsewhere), uncapped:
    // most of piece 3's blocks come from it.
    const other = await startNode();
    const bad = await startHostilePeer({ torrent: s.torrent, dir: s.dir, corrupt: { pieces: [3] } });
    try {
      await other.engine.add({ torrent: s.torrent }, { peers: [{ host: '127.0.0.1', port: bad.port }] });
      const torrent = other.engine.torrent(s.infoHash)!;
      const bans: { address: string; reason: string }[] = [];
      torrent.on('ban', (b: { address: string; reason: string }) => bans.push(b));
      const failures: number[] = [];
      torrent.on('hash-failure', (i: number) => failures.push(i));
      const url = streamUrl(other, s.infoHash, 0);
      const head = await httpGet(url, { Range: 'bytes=0-16383' }, 60_000);
      expect(head.body.equals(await s.bytes(0, 16 * KiB))).toBe(true);
      // The honest seeder (the only one that answers hash requests) joins; then the seek.
      other.engine.addPeers(s.infoHash, [{ host: '127.0.0.1', port: s.peer.port }]);
      await waitFor(() => torrent.detail().peerList.length >= 2 || undefined, 30_000, 'both peers');
      const offset = 3 * PIECE + 512 * KiB;
      const answer = await httpGet(url, { Range: `bytes=${offset}-${offset + 1024 * KiB - 1}` }, 60_000);
      expect(answer.body.equals(await s.bytes(offset, 1024 * KiB))).toBe(true);
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

  it('Dream to Dream: a Dream seeder of a torrent Dream made hybrid answers the leaf requests', async () => {
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
      const added = await viewer.engine.add(
        { torrent: made },
        { peers: [{ host: '127.0.0.1', port: seeder.port }] },
      );
      const torrent = viewer.engine.torrent(added.infohash)!;
      const url = streamUrl(viewer, meta.infohash, 0);
      const head = await httpGet(url, { Range: 'bytes=0-16383' }, 60_000);
      expect(head.body.equals(await s.bytes(0, 16 * KiB))).toBe(true);
      await waitFor(
        () => torrent.store!.have.get(meta.pieceCount - 1) || undefined,
        60_000,
        'the primed tail',
      );
      const offset = 2 * PIECE + 1 * MiB + 100;
      let verifiedAt: number | undefined;
      torrent.store!.on('verified', (i: number) => {
        if (i === 2) verifiedAt ??= Date.now();
      });
      const answer = await httpGet(url, { Range: `bytes=${offset}-${offset + 64 * KiB - 1}` }, 60_000);
      const bytesAt = Date.now();
      expect(answer.body.equals(await s.bytes(offset, 64 * KiB))).toBe(true);
      expect(verifiedAt === undefined || verifiedAt > bytesAt).toBe(true);
    } finally {
      await viewer.stop();
      await seeder.stop();
      await removeDir(stateDir);
    }
  }, 90_000);

  it('a v1 torrent still waits for the whole piece (control)', async () => {
    const s = v1Seed!;
    const offset = 2 * PIECE + 1 * MiB + 100;
    const { answer, verifiedBefore } = await seekAfterOpening(s, offset);
    expect(answer.status).toBe(206);
    expect(answer.body.equals(await s.bytes(offset, 64 * KiB))).toBe(true);
    expect(verifiedBefore).toBe(true);
  }, 60_000);
});

// Tests of the interop harness itself: the real peers trade with EACH OTHER (no Dream engine), so a
// failure in an engine interop test can be blamed on the engine, not on the harness.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import parseTorrent from 'parse-torrent';
import { afterEach, describe, expect, it } from 'vitest';
import { startAria2 } from './peers/aria2.js';
import { assertSameTree, waitFor } from './peers/checks.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { type ProtocolAbuse, startHostilePeer } from './peers/hostile-peer.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { startTracker } from './peers/tracker.js';
import { startTransmission } from './peers/transmission.js';

const MiB = 1024 * 1024;

/** Things to stop after each test, whatever happened (last started, first stopped). */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});
function track<T extends { stop(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => thing.stop());
  return thing;
}
async function tempDir(): Promise<string> {
  const dir = await makeTempDir('dream-harness-');
  cleanups.push(() => removeDir(dir));
  return dir;
}

describe('libtorrent peer', () => {
  it('seeds a hybrid v1+v2 multi-file torrent with pad files to a libtorrent leecher, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'album'), [
      { path: 'a.bin', size: 1 * MiB + 12345 },
      { path: 'sub/b.bin', size: 2 * MiB + 7 },
      { path: 'c.txt', size: 100 },
    ]);
    const { torrent } = await makeTorrent({
      source: join(seedDir, 'album'),
      flavour: 'libtorrent-hybrid',
      pieceLength: 256 * 1024,
    });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    const done = await leecher.waitFinished(60_000);
    expect(done.total_wanted).toBeGreaterThan(3 * MiB);
    await assertSameTree(join(seedDir, 'album'), join(leechDir, 'album'));
    const seederStats = await seeder.stop();
    expect(seederStats?.uploaded).toBeGreaterThanOrEqual(3 * MiB);
  });
});

describe('rate-limited libtorrent seeder', () => {
  it('uploads to a loopback leecher no faster than its cap (roughly)', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    const size = 3 * MiB;
    const limit = 1 * MiB; // bytes/s: the whole file should take about 3 s
    await makeFiles(seedDir, [{ path: 'stream.mp4', size }]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'stream.mp4'), pieceLength: 256 * 1024 });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent, uploadLimit: limit }));
    await seeder.waitFinished(30_000);
    const started = Date.now();
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    await leecher.waitFinished(60_000);
    const seconds = (Date.now() - started) / 1000;
    // Loose on purpose (2 shared cores): without the peer-class fix libtorrent exempts loopback
    // peers from the cap and this takes well under a second.
    expect(seconds).toBeGreaterThanOrEqual(size / limit / 2);
    await assertSameTree(seedDir, leechDir);
  });
});

describe('aria2 peer', () => {
  it('downloads from a libtorrent seeder it meets through the harness tracker, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(seedDir, [{ path: 'movie.mkv', size: 3 * MiB + 333 }]);
    const { torrent, infoHash } = await makeTorrent({ source: join(seedDir, 'movie.mkv') });
    const tracker = track(await startTracker());
    const seeder = track(
      await startLibtorrent({ savePath: seedDir, torrent, trackers: [tracker.announceUrl] }),
    );
    await seeder.waitFinished(30_000);
    await tracker.waitForAnnounce((a) => a.infoHash === infoHash && a.port === seeder.port, 30_000);
    const leecher = track(
      await startAria2({ torrent, dir: leechDir, mode: 'leech', tracker: tracker.announceUrl }),
    );
    const done = await leecher.waitReady(60_000);
    expect(done.completedLength).toBe(3 * MiB + 333);
    await assertSameTree(seedDir, leechDir);
    // aria2 announced itself with the port it listens on (what a test would point our engine at).
    const announce = await tracker.waitForAnnounce((a) => a.port === leecher.port, 10_000);
    expect(announce.ip).toBe('127.0.0.1');
  });
});

describe('Transmission peer', () => {
  it('seeds a multi-file torrent to a libtorrent leecher, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'show'), [
      { path: 'e01.mkv', size: 2 * MiB + 1 },
      { path: 'e02.mkv', size: 1 * MiB - 1 },
    ]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'show') });
    const seeder = track(await startTransmission({ torrent, dir: seedDir }));
    await seeder.waitSeeding(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'show'), join(leechDir, 'show'));
  });

  it('downloads from a libtorrent seeder that dials it (Transmission never dials loopback)', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(seedDir, [{ path: 'clip.mp4', size: 2 * MiB + 99 }]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'clip.mp4'), flavour: 'libtorrent-v1' });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    const leecher = track(await startTransmission({ torrent, dir: leechDir }));
    seeder.connect(leecher.port);
    await leecher.waitSeeding(60_000);
    await assertSameTree(seedDir, leechDir);
  });
});

describe('hostile peer', () => {
  const BLOCK = 16 * 1024;

  async function fixture(flavour: 'create-torrent' | 'libtorrent-hybrid' = 'create-torrent') {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'pack'), [
      { path: 'one.bin', size: 700 * 1024 + 3 },
      { path: 'two.bin', size: 900 * 1024 },
    ]);
    const made = await makeTorrent({ source: join(seedDir, 'pack'), flavour, pieceLength: 64 * 1024 });
    return { seedDir, leechDir, ...made };
  }

  it.each(['create-torrent', 'libtorrent-hybrid'] as const)(
    'sends bytes that fail SHA-1 exactly for the pieces it corrupts (%s torrent)',
    async (flavour) => {
      const { seedDir, torrent } = await fixture(flavour);
      const parsed = await parseTorrent(torrent);
      const hostile = track(
        await startHostilePeer({ torrent, dir: seedDir, corrupt: { pieces: [1, 5, 20] } }),
      );
      for (let index = 0; index < parsed.pieces.length; index++) {
        const size = index === parsed.pieces.length - 1 ? parsed.lastPieceLength : parsed.pieceLength;
        const hash = createHash('sha1');
        for (let begin = 0; begin < size; begin += BLOCK) {
          hash.update(await hostile.block(index, begin, Math.min(BLOCK, size - begin)));
        }
        const matches = hash.digest('hex') === parsed.pieces[index];
        expect(matches, `piece ${index}`).toBe(![1, 5, 20].includes(index));
      }
    },
  );

  it('gets banned by a libtorrent leecher, which still completes correct from an honest seeder', async () => {
    const { seedDir, leechDir, torrent } = await fixture();
    const hostile = track(await startHostilePeer({ torrent, dir: seedDir, corrupt: { all: true } }));
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    // The hostile peer alone first, so its bytes certainly arrive and fail; then the honest one.
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [hostile.port] }));
    await leecher.waitForEvent((e) => e.event === 'hash_failed', 30_000);
    const banned = await leecher.waitForEvent((e) => e.event === 'peer_banned', 30_000);
    expect(banned.port).toBe(hostile.port);
    leecher.connect(seeder.port);
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'pack'), join(leechDir, 'pack'));
    expect(hostile.stats.corruptBlocksSent).toBeGreaterThan(0);
  });

  it.each(['oversized-length', 'garbage-after-handshake', 'bad-bitfield-length'] as ProtocolAbuse[])(
    'misbehaves at the protocol level (%s) and libtorrent hangs up on it',
    async (abuse) => {
      const { leechDir, torrent, seedDir } = await fixture();
      const hostile = track(await startHostilePeer({ torrent, dir: seedDir, protocol: abuse }));
      // Plain handshakes only, so the first connection reaches the abuse (no MSE attempt first).
      const leecher = track(
        await startLibtorrent({ savePath: leechDir, torrent, peers: [hostile.port], encryption: 'disabled' }),
      );
      await leecher.waitForEvent((e) => e.event === 'peer_disconnected' && e.port === hostile.port, 30_000);
      await waitFor(() => hostile.stats.closedByRemote > 0, 10_000, 'the hostile peer to see the hang-up');
      expect(hostile.stats.abusesSent).toBeGreaterThan(0);
      expect(hostile.stats.requests).toBe(0);
    },
  );
});

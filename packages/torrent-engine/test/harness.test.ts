// Tests of the interop harness itself: the real peers trade with EACH OTHER (no Dream engine), so a
// failure in an engine interop test can be blamed on the engine, not on the harness.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAria2 } from './peers/aria2.js';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
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

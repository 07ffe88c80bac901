// Interoperability with real BitTorrent clients on loopback (H's harness in test/peers/): we
// download from libtorrent, Transmission and aria2 seeders; libtorrent (v1 and hybrid torrents),
// Transmission and aria2 download from us; and a bare infohash resolves its metadata from a
// libtorrent peer. Files are compared byte for byte.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent } from '../src/create/index.js';
import { EngineFleet, engineEvent } from './engine-fleet.js';
import { startAria2 } from './peers/aria2.js';
import { assertSameTree, waitFor } from './peers/checks.js';
import { makeFiles, makeTorrent } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { startTracker } from './peers/tracker.js';
import { startTransmission } from './peers/transmission.js';

const FILES = [
  { path: 'movie/part1.mkv', size: 2 * 1024 * 1024 + 777 },
  { path: 'movie/extras/notes.txt', size: 10_000 },
  { path: 'movie/part2.mkv', size: 1024 * 1024 + 3 },
];

const fleet = new EngineFleet('dream-interop-');
const engine = (name: string, trackers = false) => fleet.engine(name, { trackers });
let dir: string;

beforeAll(async () => {
  await fleet.setUp();
  dir = fleet.dir;
  await makeFiles(join(dir, 'src'), FILES);
});

afterAll(() => fleet.tearDown());

/**
 * A fresh engine `name` downloads `made` from the seeder on `port`; its copy must equal the source
 * and nothing it received may have failed a hash check.
 */
async function downloadFrom(name: string, made: { torrent: Uint8Array; infoHash: string }, port: number) {
  const us = await engine(name);
  const done = engineEvent(us, 'done', made.infoHash);
  await us.add({ torrent: made.torrent }, { peers: [{ host: '127.0.0.1', port }] });
  await done;
  await assertSameTree(join(dir, 'src', 'movie'), join(dir, `${name}-out`, 'movie'));
  expect(us.detail(made.infoHash).wasted).toBe(0);
}

describe('interop', () => {
  it('downloads a hybrid multi-file torrent (pad files) from a libtorrent seeder', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), flavour: 'libtorrent-hybrid' });
    const lt = await startLibtorrent({ savePath: join(dir, 'src'), torrent: made.torrent });
    fleet.onTearDown(() => lt.stop());
    await lt.waitFinished(60_000);
    await downloadFrom('from-lt', made, lt.port);
  });

  it('downloads from a Transmission seeder', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), flavour: 'create-torrent' });
    const tr = await startTransmission({ torrent: made.torrent, dir: join(dir, 'src') });
    fleet.onTearDown(() => tr.stop());
    await tr.waitSeeding(60_000);
    await downloadFrom('from-tr', made, tr.port);
  });

  it('seeds to a libtorrent leecher', async () => {
    const us = await engine('seed-lt');
    const added = await us.add({ path: join(dir, 'src', 'movie') });
    const meta = us.torrent(added.infohash)?.meta;
    const leechDir = join(dir, 'lt-leech');
    const lt = await startLibtorrent({ savePath: leechDir, torrent: meta?.torrent, peers: [us.port] });
    fleet.onTearDown(() => lt.stop());
    const done = await lt.waitFinished(90_000);
    await assertSameTree(join(dir, 'src', 'movie'), join(leechDir, 'movie'));
    expect(us.detail(added.infohash).uploaded).toBeGreaterThanOrEqual(meta?.length ?? 0);
    // No piece we sent failed its hash check at libtorrent (a retry would still end identical).
    expect(done.failed_bytes).toBe(0);
  });

  it('seeds a libtorrent hybrid torrent (pad files) to a libtorrent leecher, which checks v1 and v2 hashes', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), flavour: 'libtorrent-hybrid' });
    const us = await engine('seed-hybrid');
    await us.add({ torrent: made.torrent, path: join(dir, 'src', 'movie') });
    const leechDir = join(dir, 'lt-hybrid-leech');
    const lt = await startLibtorrent({ savePath: leechDir, torrent: made.torrent, peers: [us.port] });
    fleet.onTearDown(() => lt.stop());
    const done = await lt.waitFinished(90_000);
    await assertSameTree(join(dir, 'src', 'movie'), join(leechDir, 'movie'));
    expect(done.failed_bytes).toBe(0);
  });

  it('seeds a hybrid torrent it made itself to libtorrent leechers, from the .torrent and from a bare magnet', async () => {
    const file = join(dir, 'src', 'movie', 'part1.mkv');
    const made = await createTorrent(file, { hybrid: true, pieceLength: 64 * 1024 });
    const us = await engine('seed-own-hybrid');
    await us.add({ torrent: made.torrent, path: file });
    for (const how of ['torrent', 'magnet'] as const) {
      const leechDir = join(dir, `lt-own-hybrid-${how}`);
      const lt = await startLibtorrent({
        savePath: leechDir,
        ...(how === 'torrent'
          ? { torrent: made.torrent }
          : { magnet: `magnet:?xt=urn:btih:${made.meta.infohash}` }),
        peers: [us.port],
      });
      fleet.onTearDown(() => lt.stop());
      const done = await lt.waitFinished(90_000);
      expect((await readFile(join(leechDir, 'part1.mkv'))).equals(await readFile(file))).toBe(true);
      expect(done.failed_bytes, how).toBe(0);
    }
  });

  it('downloads from an aria2 seeder', async () => {
    const tracker = await startTracker();
    fleet.onTearDown(() => tracker.stop());
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), trackers: [tracker.announceUrl] });
    const aria = await startAria2({
      torrent: made.torrent,
      dir: join(dir, 'src'),
      mode: 'seed',
      tracker: tracker.announceUrl,
    });
    fleet.onTearDown(() => aria.stop());
    await aria.waitReady(60_000);
    await downloadFrom('from-aria2', made, aria.port);
  });

  it('seeds to a Transmission leecher it learns of from a tracker (Transmission never dials loopback)', async () => {
    const tracker = await startTracker();
    fleet.onTearDown(() => tracker.stop());
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), trackers: [tracker.announceUrl] });
    const leechDir = join(dir, 'tr-leech');
    const tr = await startTransmission({ torrent: made.torrent, dir: leechDir });
    fleet.onTearDown(() => tr.stop());
    // Registered, not just announced: Transmission's first announce is sometimes a "stopped", and
    // the tracker then has nobody to name until its next one.
    await waitFor(
      () => tracker.peers(made.infoHash).some((p) => p.port === tr.port),
      30_000,
      'Transmission registered at the tracker',
    );
    // Seeding in place, complete from the start: it must dial the leecher the tracker names.
    const us = await engine('seed-tr', true);
    await us.add({ torrent: made.torrent, path: join(dir, 'src', 'movie') });
    await tr.waitSeeding(90_000);
    await assertSameTree(join(dir, 'src', 'movie'), join(leechDir, 'movie'));
  }, 120_000);

  it('seeds to an aria2 leecher met through a tracker our engine announces to', async () => {
    const tracker = await startTracker();
    fleet.onTearDown(() => tracker.stop());
    const made = await makeTorrent({ source: join(dir, 'src', 'movie'), trackers: [tracker.announceUrl] });
    const us = await engine('seed-aria2', true);
    // Seed the same bytes in place from a .torrent naming the tracker.
    const seedOut = join(dir, 'seed-aria2-out');
    await makeFiles(seedOut, FILES);
    await us.add({ torrent: made.torrent });
    await tracker.waitForAnnounce((a) => a.port === us.port, 30_000);
    const leechDir = join(dir, 'aria2-leech');
    const aria = await startAria2({
      torrent: made.torrent,
      dir: leechDir,
      mode: 'leech',
      tracker: tracker.announceUrl,
    });
    fleet.onTearDown(() => aria.stop());
    await aria.waitReady(90_000);
    await assertSameTree(join(dir, 'src', 'movie'), join(leechDir, 'movie'));
  });

  it('resolves a bare infohash from a libtorrent peer (ut_metadata), then downloads', async () => {
    const made = await makeTorrent({
      source: join(dir, 'src', 'movie'),
      flavour: 'libtorrent-v1',
      pieceLength: 32768,
    });
    const lt = await startLibtorrent({ savePath: join(dir, 'src'), torrent: made.torrent });
    fleet.onTearDown(() => lt.stop());
    await lt.waitFinished(60_000);
    const us = await engine('magnet');
    const meta = engineEvent(us, 'metadata', made.infoHash);
    const done = engineEvent(us, 'done', made.infoHash);
    const added = await us.add({ infohash: made.infoHash });
    expect(added.state).toBe('metadata');
    us.addPeers(made.infoHash, [{ host: '127.0.0.1', port: lt.port }]);
    await meta;
    expect(us.detail(made.infoHash).name).toBe('movie');
    await done;
    await assertSameTree(join(dir, 'src', 'movie'), join(dir, 'magnet-out', 'movie'));
  });
});

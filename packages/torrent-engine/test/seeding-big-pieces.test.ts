// Torrents of 16 MiB pieces, as qBittorrent and libtorrent make for large files, with three real
// libtorrent peers. Seeding to three leechers at once: each byte is read from disk about once (the
// seeding cache reads such pieces in 1 MiB spans; when it cached whole pieces, the leechers'
// different pieces pushed each other out of its 8 MiB and every block re-read a whole 16 MiB piece:
// 51 bytes read per byte sent, measured with 256 MiB). Then downloading from those three: at most
// two pieces open at once outside a reader's window (the scheduler's maxOpenPieces).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineFleet, engineEvent } from './engine-fleet.js';
import { assertSameTree, waitFor } from './peers/checks.js';
import { makeFiles, makeTorrent } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';

const SIZE = 128 * 1024 * 1024;
const PIECE = 16 * 1024 * 1024;
const LEECHERS = 3;

/** Bytes this process has read with read(2) and friends, files and sockets (/proc/self/io). */
const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

const fleet = new EngineFleet('dream-big-pieces-');
/** The torrent and the leechers of the first test, complete once it passes: seeders for the second. */
let made: Awaited<ReturnType<typeof makeTorrent>> | undefined;
const seeders: { port: number }[] = [];
beforeAll(() => fleet.setUp());
afterAll(() => fleet.tearDown());

describe('seeding big pieces', () => {
  it('serves three libtorrent leechers on different 16 MiB pieces, reading each byte from disk about once', async () => {
    const src = join(fleet.dir, 'src');
    await makeFiles(src, [{ path: 'film.mkv', size: SIZE }]);
    const torrent = await makeTorrent({
      source: join(src, 'film.mkv'),
      flavour: 'create-torrent',
      pieceLength: PIECE,
    });
    made = torrent;
    // The seeder's copy, in its output folder: the add checks it and seeds it in place.
    await makeFiles(join(fleet.dir, 'seeder-out'), [{ path: 'film.mkv', size: SIZE }]);
    const seeder = await fleet.engine('seeder', { trackers: false });
    await seeder.add({ torrent: torrent.torrent });
    await waitFor(
      () => seeder.detail(torrent.infoHash).state === 'seeding',
      60_000,
      'the seeder to check its copy',
    );

    const before = rchar();
    const leechers = await Promise.all(
      Array.from({ length: LEECHERS }, (_, i) =>
        startLibtorrent({
          savePath: join(fleet.dir, `leech-${i}`),
          torrent: torrent.torrent,
          peers: [seeder.port],
        }),
      ),
    );
    for (const lt of leechers) fleet.onTearDown(() => lt.stop());
    seeders.push(...leechers);
    const finished = await Promise.all(leechers.map((lt) => lt.waitFinished(120_000)));
    const read = rchar() - before;
    const sent = seeder.detail(torrent.infoHash).uploaded;

    for (let i = 0; i < LEECHERS; i++) await assertSameTree(src, join(fleet.dir, `leech-${i}`));
    // No piece failed its hash check at a leecher: a retry would still end identical, but the
    // leecher bans a peer that alone sent a bad piece.
    expect(finished.map((f) => f.failed_bytes)).toEqual(finished.map(() => 0));
    // The leechers also trade among themselves, so we send at most 3 x 128 MiB; what this process
    // read (disk, plus the leechers' requests on its sockets) stays close to what it sent. Whole
    // pieces re-read per block came to tens of times more.
    expect(sent).toBeGreaterThanOrEqual(SIZE);
    expect(read).toBeLessThan(1.5 * sent);
  }, 180_000);

  it('downloads 16 MiB pieces from those three, holding few pieces in memory at once', async () => {
    if (!made) throw new Error('needs the torrent and seeders of the test before');
    const torrent = made;
    const us = await fleet.engine('downloader', { trackers: false });
    let peakBuffers = 0;
    const sample = setInterval(() => {
      peakBuffers = Math.max(peakBuffers, process.memoryUsage().arrayBuffers);
    }, 5);
    const before = process.memoryUsage().arrayBuffers;
    try {
      const done = engineEvent(us, 'done', torrent.infoHash);
      await us.add(
        { torrent: torrent.torrent },
        { peers: seeders.map((s) => ({ host: '127.0.0.1', port: s.port })) },
      );
      await done;
    } finally {
      clearInterval(sample);
    }
    await assertSameTree(join(fleet.dir, 'src'), join(fleet.dir, 'downloader-out'));
    // A 16 MiB piece is a 16 MiB buffer until it verifies. With no cap on open pieces the three
    // seeders kept several open: buffers grew by 69-71 MiB here; 39 MiB with two open at most.
    expect((peakBuffers - before) / (1024 * 1024)).toBeLessThan(56);
  }, 120_000);
});

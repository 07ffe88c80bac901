// Seeding a torrent of 16 MiB pieces, as qBittorrent and libtorrent make for large files, to three
// real libtorrent leechers at once: each byte is read from disk about once. The seeding cache reads
// such pieces in 1 MiB spans; when it cached whole pieces, the leechers' different pieces pushed
// each other out of its 8 MiB and every block re-read a whole 16 MiB piece (51 bytes read per byte
// sent, measured with 256 MiB).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineFleet } from './engine-fleet.js';
import { assertSameTree, waitFor } from './peers/checks.js';
import { makeFiles, makeTorrent } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';

const SIZE = 128 * 1024 * 1024;
const PIECE = 16 * 1024 * 1024;
const LEECHERS = 3;

/** Bytes this process has read with read(2) and friends, files and sockets (/proc/self/io). */
const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

const fleet = new EngineFleet('dream-big-pieces-');
beforeAll(() => fleet.setUp());
afterAll(() => fleet.tearDown());

describe('seeding big pieces', () => {
  it('serves three libtorrent leechers on different 16 MiB pieces, reading each byte from disk about once', async () => {
    const src = join(fleet.dir, 'src');
    await makeFiles(src, [{ path: 'film.mkv', size: SIZE }]);
    const made = await makeTorrent({
      source: join(src, 'film.mkv'),
      flavour: 'create-torrent',
      pieceLength: PIECE,
    });
    // The seeder's copy, in its output folder: the add checks it and seeds it in place.
    await makeFiles(join(fleet.dir, 'seeder-out'), [{ path: 'film.mkv', size: SIZE }]);
    const seeder = await fleet.engine('seeder', { trackers: false });
    await seeder.add({ torrent: made.torrent });
    await waitFor(
      () => seeder.detail(made.infoHash).state === 'seeding',
      60_000,
      'the seeder to check its copy',
    );

    const before = rchar();
    const leechers = await Promise.all(
      Array.from({ length: LEECHERS }, (_, i) =>
        startLibtorrent({
          savePath: join(fleet.dir, `leech-${i}`),
          torrent: made.torrent,
          peers: [seeder.port],
        }),
      ),
    );
    for (const lt of leechers) fleet.onTearDown(() => lt.stop());
    const finished = await Promise.all(leechers.map((lt) => lt.waitFinished(120_000)));
    const read = rchar() - before;
    const sent = seeder.detail(made.infoHash).uploaded;

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
});

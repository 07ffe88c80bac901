// Tests of the interop harness itself: the real peers trade with EACH OTHER (no Dream engine), so a
// failure in an engine interop test can be blamed on the engine, not on the harness.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';

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

// Issue 4, end to end through the built daemon, the way a user runs it: dream-torrent from dist/
// with its own config, a torrent added over the control API as a bare magnet with the seeder as its
// only peer (the metadata comes from the seeder, BEP 9), and mpv pointed at the stream URL at once,
// before the metadata is known, while everything downloads from a capped libtorrent seeder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DaemonNode,
  httpGet,
  KiB,
  MiB,
  makeClip,
  mpvArgs,
  mpvPositions,
  runPlayer,
  type Seed,
  seedExistingFile,
  startDaemon,
} from './streaming-helpers.js';

const CLIP = { seconds: 40, faststart: false, bitrate: '3M' };

let seed: Seed | undefined;
let daemon: DaemonNode | undefined;

beforeAll(async () => {
  const clip = await makeClip(CLIP);
  seed = await seedExistingFile(clip, { pieceLength: 256 * KiB, uploadLimit: 2 * MiB });
  daemon = await startDaemon();
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await seed?.stop();
});

describe('the built dream-torrent daemon', () => {
  it('a magnet added over the API plays in mpv to the end while it downloads', async () => {
    const s = seed!;
    const base = daemon!.baseUrl;
    const add = await fetch(`${base}/api/torrents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ magnet: s.magnet, peers: [{ host: '127.0.0.1', port: s.peer.port }] }),
    });
    expect(add.status, await add.clone().text()).toBe(201);
    expect(((await add.json()) as { infohash: string }).infohash).toBe(s.infoHash);

    const { code, out } = await runPlayer(
      'mpv',
      [...(await mpvArgs()), `${base}/stream/${s.infoHash}/0`],
      90_000,
    );
    expect(code, out).toBe(0);
    expect(out).toContain('(End of file)');
    const pos = mpvPositions(out);
    expect(pos.start, out).toBeLessThan(0.5);
    expect(pos.last, out).toBeGreaterThan(CLIP.seconds - 0.5);

    const detail = await httpGet(`${base}/api/torrents/${s.infoHash}`);
    const summary = JSON.parse(detail.body.toString('utf8')) as {
      progress: number;
      name: string;
      wasted: number;
    };
    expect(summary.progress).toBe(1);
    expect(summary.wasted).toBe(0);
    // The daemon's listing names the file the metadata described.
    const listing = await httpGet(`${base}/stream/${s.infoHash}/`);
    expect(JSON.parse(listing.body.toString('utf8')).files).toEqual([
      expect.objectContaining({ index: 0, size: s.size, type: 'video/mp4' }),
    ]);
  }, 120_000);
});

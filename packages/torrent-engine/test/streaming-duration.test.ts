// The engine reads a video's duration from its header when a stream opens (media-duration.ts via
// TorrentStreamSource), so readers' windows are sized at the file's real media rate instead of the
// 1 MiB/s guess. Here: a 4 Mbit/s MP4 whose moov is at the end, seeded by libtorrent; the first
// request opens the file; a later reader's window carries the rate size / duration x VBR headroom.
import { randomBytes } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BYTES_PER_SECOND, primeRanges, VBR_HEADROOM } from '../src/scheduler/index.js';
import { waitFor } from './peers/checks.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';
import {
  addSeed,
  httpGet,
  KiB,
  MiB,
  makeClip,
  type Seed,
  type StreamingNode,
  seedExistingFile,
  seedRandomFile,
  spyReaders,
  startNode,
  streamUrl,
} from './streaming-helpers.js';

const CLIP = { seconds: 20, faststart: false, bitrate: '4M' };
let seed: Seed | undefined;
let node: StreamingNode | undefined;
let clipSize = 0;

beforeAll(async () => {
  const clip = await makeClip(CLIP);
  clipSize = (await stat(clip)).size;
  seed = await seedExistingFile(clip, { pieceLength: 256 * KiB });
  node = await startNode();
}, 180_000);

afterAll(async () => {
  await node?.stop();
  await seed?.stop();
});

describe('media rate from the file header', () => {
  it('a stream opened after the header arrived is sized at size / duration, not the guess', async () => {
    const n = node!;
    const s = seed!;
    const torrent = await addSeed(n, s);
    const spy = spyReaders(torrent);
    // The first request opens the file: head and tail primed, the probe started.
    const first = await httpGet(streamUrl(n, s.infoHash), { Range: 'bytes=0-1023' });
    expect(first.status).toBe(206);
    const expected = (clipSize / CLIP.seconds) * VBR_HEADROOM;
    // The guess differs from the real rate by far more than the tolerance below.
    expect(Math.abs(DEFAULT_BYTES_PER_SECOND - expected) / expected).toBeGreaterThan(0.3);
    let rate = 0;
    await waitFor(
      async () => {
        const before = spy.opened.length;
        await httpGet(streamUrl(n, s.infoHash), { Range: 'bytes=4096-8191' });
        const opened = spy.opened.slice(before).find((o) => o.id.startsWith('reader:'));
        rate = opened?.bytesPerSecond ?? 0;
        return Math.abs(rate - expected) / expected < 0.05;
      },
      30_000,
      `a reader at the clip's media rate (${expected.toFixed(0)} B/s)`,
    );
    // The probe read headers through its own readers, which are gone once it finished.
    expect([...spy.live.keys()].filter((id) => id.startsWith('probe:'))).toEqual([]);
    expect(rate).toBeGreaterThan(0);
  }, 60_000);
});

describe('the probe on a file whose index lies beyond the primed ends', () => {
  it('reads nothing outside them: the guess stays and no piece is fetched for it', async () => {
    const n = node!;
    const dir = await makeTempDir('dream-probe-hostile-');
    let hostile: Seed | undefined;
    try {
      // ftyp, an 8 MiB mdat, then a 1 MiB moov: its header sits 1 MiB before the end, outside the
      // 256 KiB tail prime. A probe that followed it would fetch that piece for nobody.
      const box = (type: string, body: Buffer) => {
        const h = Buffer.alloc(8);
        h.writeUInt32BE(8 + body.length, 0);
        h.write(type, 4, 'latin1');
        return Buffer.concat([h, body]);
      };
      const mvhd = Buffer.alloc(100);
      mvhd.writeUInt32BE(1000, 12);
      mvhd.writeUInt32BE(600_000, 16); // 600 s: a rate far from the guess if it were believed
      const moov = box('moov', Buffer.concat([box('mvhd', mvhd), box('free', Buffer.alloc(MiB))]));
      const file = join(dir, 'hostile.mp4');
      await writeFile(
        file,
        Buffer.concat([
          Buffer.from('00000018667479706973366d0000020069736f6d69736f32', 'hex'),
          box('mdat', randomBytes(8 * MiB)),
          moov,
        ]),
      );
      const size = (await stat(file)).size;
      hostile = await seedExistingFile(file, { pieceLength: 256 * KiB });
      const torrent = await addSeed(n, hostile);
      const spy = spyReaders(torrent);
      const first = await httpGet(streamUrl(n, hostile.infoHash), { Range: 'bytes=0-1023' });
      expect(first.status).toBe(206);
      const primed = primeRanges({ offset: 0, length: size });
      const inPrimed = (at: number) => primed.some((r) => at >= r.start && at < r.end);
      // Give the probe time to walk ftyp and mdat (both in the head) and stop at the moov.
      await waitFor(() => spy.opened.some((o) => o.id.startsWith('probe:')), 30_000, 'the probe reading');
      await new Promise((r) => setTimeout(r, 1_500));
      const probes = spy.opened.filter((o) => o.id.startsWith('probe:'));
      expect(probes.every((o) => inPrimed(o.start))).toBe(true);
      const moovPiece = Math.floor((size - moov.length) / (256 * KiB));
      expect(torrent.store?.have.get(moovPiece)).toBe(false);
      // A later stream is still sized at the guess for a file of this size.
      const before = spy.opened.length;
      await httpGet(streamUrl(n, hostile.infoHash), { Range: 'bytes=4096-8191' });
      const later = spy.opened.slice(before).find((o) => o.id.startsWith('reader:'));
      expect(later?.bytesPerSecond).toBe(DEFAULT_BYTES_PER_SECOND);
    } finally {
      await hostile?.stop();
      await removeDir(dir);
    }
  }, 60_000);
});

describe("a duration given with the torrent (dream-cli passes the catalog's)", () => {
  it('sizes streams of its largest file when the header tells nothing, and bad values get a 400', async () => {
    const n = node!;
    const film = await seedRandomFile('film.avi', 12 * MiB, { pieceLength: 256 * KiB, seed: 9 });
    try {
      const post = (body: unknown) =>
        fetch(`${n.baseUrl}/api/torrents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const bad = await post({ torrent: Buffer.from(film.torrent).toString('base64'), durationSeconds: 0 });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/durationSeconds/);
      const added = await post({
        torrent: Buffer.from(film.torrent).toString('base64'),
        peers: [`127.0.0.1:${film.peer.port}`],
        durationSeconds: 30,
      });
      expect(added.status, await added.clone().text()).toBe(201);
      const torrent = n.engine.torrent(film.infoHash)!;
      const spy = spyReaders(torrent);
      const answer = await httpGet(streamUrl(n, film.infoHash), { Range: 'bytes=0-1023' });
      expect(answer.status).toBe(206);
      const reader = spy.opened.find((o) => o.id.startsWith('reader:'));
      expect(reader?.bytesPerSecond).toBeCloseTo(((12 * MiB) / 30) * VBR_HEADROOM, 0);
    } finally {
      await film.stop();
    }
  }, 60_000);
});

// Issue 4, end to end with real players: mpv plays a stream URL of our engine to the end (and from
// 70%) while the torrent downloads from a rate-capped libtorrent seeder, and ffprobe reads an MP4
// whose moov atom sits at the END long before the download is complete: the head and tail priming
// at work. Each test starts a fresh engine, so each begins with nothing downloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { primeSize } from '../src/scheduler/index.js';
import { waitFor } from './peers/checks.js';
import {
  addSeed,
  connectSeed,
  KiB,
  MiB,
  makeClip,
  mpvArgs,
  mpvPositions,
  type ReaderSpy,
  runPlayer,
  type Seed,
  type StreamingNode,
  seedExistingFile,
  spyReaders,
  startNode,
  streamUrl,
  torrentSummary,
} from './streaming-helpers.js';

// 40 s of 640x360 H.264 at 3 Mbit/s: about 15 MiB, the moov atom (5 KiB) written last.
const CLIP = { seconds: 40, faststart: false, bitrate: '3M' };
const PIECE = 256 * KiB;
// 2 MiB/s: the whole clip takes about 7 s to arrive, so players run while it downloads.
const CAP = 2 * MiB;

let seed: Seed | undefined;

beforeAll(async () => {
  const clip = await makeClip(CLIP);
  seed = await seedExistingFile(clip, { pieceLength: PIECE, uploadLimit: CAP });
}, 120_000);

afterAll(async () => {
  await seed?.stop();
});

/**
 * A fresh engine holding the torrent with no peer yet; `player` is started, and the seeder is
 * connected once the player's first request reached the engine (its reader is registered), so
 * everything downloaded is what the player's requests asked for, plus the head/tail priming.
 */
async function withPlayer<T>(
  player: (url: string) => Promise<T>,
  check: (result: T, node: StreamingNode, readers: ReaderSpy) => Promise<void>,
): Promise<void> {
  const s = seed!;
  const node = await startNode();
  try {
    const torrent = await addSeed(node, s, false);
    const readers = spyReaders(torrent);
    const running = player(streamUrl(node, s.infoHash, 0));
    // If the player fails before it opens the stream, waitFor reports it; its own error is awaited below.
    running.catch(() => {});
    await waitFor(() => readers.ever.size > 0, 30_000, 'the player to open the stream');
    connectSeed(node, s);
    const result = await running;
    await check(result, node, readers);
  } finally {
    await node.stop();
  }
}

describe('real players on the real engine, seeder capped at 2 MiB/s', () => {
  it('mpv plays the stream to the end and exits 0', async () => {
    const mpv = await mpvArgs();
    await withPlayer(
      (url) => runPlayer('mpv', [...mpv, url], 90_000),
      async ({ code, out }, node) => {
        expect(code, out).toBe(0);
        expect(out).toContain('(End of file)');
        const pos = mpvPositions(out);
        expect(pos.start, out).toBeLessThan(0.5);
        // The last frame of a 40 s clip at 25 fps is at 39.96 s.
        expect(pos.last, out).toBeGreaterThan(CLIP.seconds - 0.5);
        const summary = await torrentSummary(node, seed!.infoHash);
        expect(summary.progress).toBe(1);
      },
    );
  }, 120_000);

  it('mpv --start=70% starts there and plays to the end', async () => {
    const mpv = await mpvArgs();
    await withPlayer(
      (url) => runPlayer('mpv', [...mpv, '--start=70%', url], 90_000),
      async ({ code, out }, node, readers) => {
        expect(code, out).toBe(0);
        expect(out).toContain('(End of file)');
        const pos = mpvPositions(out);
        // 70% of 40 s is 28 s; mpv lands on a keyframe at or before it.
        expect(pos.start, out).toBeGreaterThan(0.7 * CLIP.seconds - 3);
        expect(pos.start, out).toBeLessThan(0.7 * CLIP.seconds + 0.5);
        expect(pos.last, out).toBeGreaterThan(CLIP.seconds - 0.5);
        // It started there: the middle of the file before the seek point was not fetched, as the
        // pieces stood when mpv closed its last stream (after that, with no reader, the torrent
        // rightly downloads the rest in the background). A few pieces of slack: between one reader
        // closing and the next opening, background requests may start a piece or two.
        const have = readers.haveWhenIdle ?? [];
        const first = Math.ceil(0.15 * have.length);
        const last = Math.floor(0.6 * have.length);
        const skipped = have.slice(first, last + 1).filter(Boolean).length;
        const summary = await torrentSummary(node, seed!.infoHash);
        console.log(
          `mpv --start=70%: ${(100 * summary.progress).toFixed(1)}% of the clip downloaded when it exited, ` +
            `${skipped} pieces of the ${last - first + 1} between 15% and 60% when it closed its last stream`,
        );
        expect(have.length).toBeGreaterThan(0);
        expect(skipped).toBeLessThanOrEqual(2);
      },
    );
  }, 120_000);

  it('ffprobe reads the MP4 with its moov at the end long before the download completes', async () => {
    await withPlayer(
      async (url) => {
        const result = await runPlayer(
          'ffprobe',
          [
            '-v',
            'error',
            '-show_entries',
            'format=duration:stream=codec_name,width,height',
            '-of',
            'json',
            url,
          ],
          60_000,
        );
        return result;
      },
      async ({ code, out }, node, readers) => {
        // Read before anything else: once ffprobe's readers are gone the engine downloads the rest.
        const summary = await torrentSummary(node, seed!.infoHash);
        expect(code, out).toBe(0);
        const info = JSON.parse(out) as {
          format: { duration: string };
          streams: { codec_name: string; width: number; height: number }[];
        };
        expect(Number(info.format.duration)).toBeCloseTo(CLIP.seconds, 0);
        expect(info.streams[0]).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
        const downloadedFraction = summary.downloaded / seed!.size;
        console.log(
          `ffprobe (moov at the end) succeeded with ${(summary.downloaded / MiB).toFixed(2)} MiB downloaded: ` +
            `${(100 * downloadedFraction).toFixed(1)}% of the ${(seed!.size / MiB).toFixed(1)} MiB clip, ` +
            `${(100 * summary.progress).toFixed(1)}% of the pieces verified`,
        );
        // The moov at the end arrived without the middle of the file.
        expect(downloadedFraction).toBeLessThan(0.5);
        expect(summary.progress).toBeLessThan(0.5);
        // The first open primed the head and the tail (before ffprobe asked for the tail itself).
        const ids = readers.opened.map((r) => r.id);
        expect(ids.slice(0, 2)).toEqual([
          expect.stringMatching(/^prime:.*:head$/),
          expect.stringMatching(/^prime:.*:tail$/),
        ]);
        const tailStart = seed!.size - primeSize(seed!.size);
        const tailRead = readers.opened.find((r) => r.id.startsWith('reader:') && r.start >= tailStart);
        expect(tailRead, 'ffprobe read the tail (the moov)').toBeDefined();
        console.log(
          `ffprobe asked for the tail at ${((tailRead?.start ?? 0) / MiB).toFixed(2)} MiB; its piece was ` +
            `${tailRead?.verified ? 'already verified by the priming' : 'not verified yet'}`,
        );
      },
    );
  }, 120_000);
});

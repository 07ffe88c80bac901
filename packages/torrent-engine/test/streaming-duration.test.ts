// The engine reads a video's duration from its header when a stream opens (media-duration.ts via
// TorrentStreamSource), so readers' windows are sized at the file's real media rate instead of the
// 1 MiB/s guess. Here: a 4 Mbit/s MP4 whose moov is at the end, seeded by libtorrent; the first
// request opens the file; a later reader's window carries the rate size / duration x VBR headroom.
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BYTES_PER_SECOND, VBR_HEADROOM } from '../src/scheduler/index.js';
import { waitFor } from './peers/checks.js';
import {
  addSeed,
  httpGet,
  KiB,
  makeClip,
  type Seed,
  type StreamingNode,
  seedExistingFile,
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

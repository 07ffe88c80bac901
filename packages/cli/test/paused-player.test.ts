// Issue 4, from the user's chair: `dream-cli stream` launches mpv, the viewer pauses, and the
// download must stop once what playback needs next is there. The engine's readahead bound alone
// does not give that: mpv keeps filling its own cache while paused (up to 150 MiB by default), so
// a paused mpv reads, and the engine fetches, most of a film. dream-cli bounds mpv's cache
// (general.player_cache_seconds -> --cache-secs); this test runs the real mpv, paused from its
// first frame, against real daemons and an uncapped libtorrent seeder, and checks what was fetched.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelQueuedBytes } from '../../torrent-engine/test/peers/tcp-queues.js';
import { findExecutable } from '../src/index.js';
import { nodeForThisFile } from './fixtures/dream-node.js';
import { seedClip, streamWithPlayer } from './fixtures/seeded-clip.js';

const MiB = 1 << 20;
// 180 s of 640x360 H.264 at 3 Mbit/s: about 65 MiB, the moov at the end (ffmpeg's default).
const CLIP = { seconds: 180, faststart: false, bitrate: '3M' };
// The defaults a user gets: config's general.player_cache_seconds and stream.readahead_seconds.
const PLAYER_CACHE_SECONDS = 10;
const READAHEAD_SECONDS = 30;
/**
 * Bytes in Node's stream buffers between the engine's reader and the socket, as counted in
 * torrent-engine's streaming-readahead.test.ts (about 1.1 MiB), with the same factor two.
 */
const NODE_STREAM_ALLOWANCE = 2 * (4 * 256 * 1024 + 2 * 64 * 1024);

const dir = mkdtempSync(join(tmpdir(), 'dream-paused-player-'));
const dreamNode = nodeForThisFile(dir);

/** An "mpv" on PATH terms (dream-cli recognises it by name) that runs the real one headless and paused. */
function pausedMpv(): string {
  const real = findExecutable('mpv');
  if (!real) throw new Error('mpv is not installed: run scripts/ensure-tools.sh --test');
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const path = join(bin, 'mpv');
  // --no-config: no user mpv.conf on a test machine changes the cache. dream-cli's own arguments
  // (--cache-secs, the title, the URL) follow these, as they would follow a user's mpv.conf.
  writeFileSync(
    path,
    `#!/bin/sh\nexec ${JSON.stringify(real)} --no-config --no-terminal --vo=null --ao=null --pause "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

interface Detail {
  downloaded: number;
  length: number;
  readers: { id: string; start: number; end: number; playhead: number; bytesPerSecond: number }[];
}

describe('a paused mpv launched by dream-cli stream', () => {
  it('holds the download to its own cache plus the readahead window, not the whole file', async () => {
    const n = dreamNode();
    const clip = await seedClip(dir, 'long-film', CLIP);
    const { meta, seeder } = clip;
    const { child, stderr } = streamWithPlayer(n, clip, pausedMpv());
    try {
      const detail = async (): Promise<Detail | undefined> => {
        const res = await fetch(`${n.streamBase}/api/torrents/${meta.infohash}`);
        return res.status === 200 ? ((await res.json()) as Detail) : undefined;
      };
      // Until nothing more arrives for 3 s: the seeder is uncapped, so without a bound the whole
      // file is here within seconds.
      let last = -1;
      let stableSince = Date.now();
      const deadline = Date.now() + 90_000;
      let d: Detail | undefined;
      for (;;) {
        expect(child.exitCode, `dream-cli exited early:\n${stderr()}`).toBeNull();
        d = await detail();
        if (d && d.downloaded > 0) {
          if (d.downloaded !== last) {
            last = d.downloaded;
            stableSince = Date.now();
          } else if (Date.now() - stableSince >= 3000) break;
        }
        if (Date.now() > deadline) throw new Error(`the download never settled:\n${stderr()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const reader = d!.readers.find((r) => r.start < d!.length / 2);
      expect(reader, 'mpv is still reading from the head of the file').toBeDefined();
      // Bytes the engine's reader handed out that mpv has not taken: in the loopback connection's
      // kernel queues (measured now, from /proc/net/tcp) and in Node's stream buffers.
      const inTransit = kernelQueuedBytes(n.ports.stream) + NODE_STREAM_ALLOWANCE;
      const rate = reader!.bytesPerSecond; // the media rate the engine sized its window with
      const mpvRead = reader!.playhead; // what left the engine for mpv
      const pieceLength = meta.pieceLength;
      const primes = Math.ceil(0.02 * d!.length) + 2 * pieceLength; // ~1% at each end, in pieces
      const playerBound = PLAYER_CACHE_SECONDS * rate + inTransit;
      const engineBound = READAHEAD_SECONDS * rate + 2 * pieceLength + primes;
      console.log(
        `paused mpv: downloaded ${(d!.downloaded / MiB).toFixed(1)} of ${(d!.length / MiB).toFixed(1)} MiB; ` +
          `the engine handed mpv ${(mpvRead / MiB).toFixed(1)} MiB (at most ${(playerBound / MiB).toFixed(1)}: ` +
          `${PLAYER_CACHE_SECONDS} s at ${(rate / MiB).toFixed(2)} MiB/s + ${(inTransit / MiB).toFixed(1)} MiB in transit), ` +
          `and fetched ${((d!.downloaded - mpvRead) / MiB).toFixed(1)} MiB beyond (at most ${(engineBound / MiB).toFixed(1)})`,
      );
      // mpv stopped reading after about its cache: with mpv's default it reads the whole file.
      expect(mpvRead, 'bytes mpv read while paused (is its cache bounded?)').toBeLessThanOrEqual(playerBound);
      // The engine stopped after its window beyond that (plus the file's head and tail priming).
      expect(d!.downloaded - mpvRead, 'bytes fetched beyond what mpv read').toBeLessThanOrEqual(engineBound);
      expect(d!.downloaded).toBeLessThan(d!.length / 2);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
      await seeder.stop();
    }
  }, 180_000);
});

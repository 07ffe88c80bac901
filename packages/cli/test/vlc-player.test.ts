// Issue 4, "any player": the real VLC (Debian's cvlc, headless), launched by `dream-cli stream
// --player vlc` with the arguments dream-cli gives it, reads a stream from real daemons while the
// torrent downloads from a capped libtorrent seeder. VLC refuses to run as root; the tests run as
// root on CI, so the stand-in "vlc" on the player path drops to the unprivileged `nobody` first, as
// VLC would run for a real user. What VLC reports in its own log is what a viewer would see: the
// first picture decoded, playback reaching the end, no demuxer or decoder complaints.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../src/index.js';
import { nodeForThisFile } from './fixtures/dream-node.js';
import { seedClip, streamWithPlayer } from './fixtures/seeded-clip.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/**
 * Seeder's upload cap: a 60 s clip at 3 Mbit/s (~22 MiB, more than VLC's 16 MiB read-ahead buffer,
 * so a jump to 70 % is a new Range request) takes ~11 s to arrive; VLC plays it at 4× in 15 s.
 */
const CAP = 2 * MiB;

const dir = mkdtempSync(join(tmpdir(), 'dream-vlc-'));
const dreamNode = nodeForThisFile(dir);

/**
 * A "vlc" (dream-cli recognises the player by name and passes --meta-title, --play-and-exit and the
 * URL) running the real cvlc with no window, no sound and a verbose log, plus `extra` options.
 */
function headlessVlc(name: string, extra: string[]): { path: string; log: string } {
  const cvlc = findExecutable('cvlc');
  if (!cvlc) throw new Error('VLC is not installed: run scripts/ensure-tools.sh --test');
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  const path = join(bin, 'vlc');
  const log = join(dir, `${name}.log`);
  const vlc = [cvlc, '-vv', '--intf', 'dummy', '--vout', 'dummy', '--aout', 'dummy', ...extra]
    .map((a) => JSON.stringify(a))
    .join(' ');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      // VLC will not run as root: as root, become nobody (no home, no config: VLC's defaults).
      'if [ "$(id -u)" = 0 ]; then',
      `  exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent ${vlc} "$@" 2>>${JSON.stringify(log)}`,
      'fi',
      `exec ${vlc} "$@" 2>>${JSON.stringify(log)}`,
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return { path, log };
}

interface Played {
  /** VLC's log. */
  log: string;
  /** The clip's size. */
  size: number;
  /** The torrent's progress when the engine first had a stream reader open (VLC reading). */
  progressWhenReading: number | undefined;
}

/** Plays `seconds` of a fresh clip through dream-cli with `vlcOptions`. */
async function playThroughDream(seconds: number, vlcOptions: string[]): Promise<Played> {
  const n = dreamNode();
  const clip = await seedClip(
    dir,
    `clip-${seconds}s`,
    { seconds, faststart: false, bitrate: '3M' },
    { pieceLength: 256 * KiB, uploadLimit: CAP },
  );
  const { meta, seeder } = clip;
  const vlc = headlessVlc(`vlc-${seconds}`, vlcOptions);
  const { child, stderr } = streamWithPlayer(n, clip, vlc.path);
  let progressWhenReading: number | undefined;
  let polling = false;
  // Polled while dream-cli runs; a poll that fails (the daemon busy, the body cut) is skipped, never
  // an unhandled rejection, and polls never overlap.
  const watch = setInterval(async () => {
    if (progressWhenReading !== undefined || polling) return;
    polling = true;
    try {
      const res = await fetch(`${n.streamBase}/api/torrents/${meta.infohash}`);
      if (res.status !== 200) return;
      const d = (await res.json()) as { progress: number; readers: { id: string }[] };
      if (d.readers.some((r) => r.id.startsWith('reader:'))) progressWhenReading = d.progress;
    } catch {
      // next poll
    } finally {
      polling = false;
    }
  }, 100);
  try {
    const status = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const log = readFileSync(vlc.log, 'utf8');
    expect(status, `dream-cli stream --player vlc:\n${stderr()}\n${log.slice(-3000)}`).toBe(0);
    return { log, size: meta.length, progressWhenReading };
  } finally {
    clearInterval(watch);
    if (child.exitCode === null) child.kill('SIGTERM');
    await seeder.stop();
  }
}

/**
 * VLC's complaints about the bytes it was given: errors of its demuxer, decoder or HTTP access
 * modules, and anything corrupt or invalid. Not its clock's ("ES_OUT_SET_PCR is called too late",
 * "buffer deadlock prevented" from the core: data came later than its 1 s network cache wanted, a
 * stall after a seek into bytes still downloading, not bad data) and not its missing desktop (D-Bus,
 * hotkeys).
 */
function streamErrors(log: string): string[] {
  return log
    .split('\n')
    .filter((l) =>
      /\] (mp4|avcodec|http|access|prefetch|cache_read|es|h26x) \w+ error:|corrupt|invalid (nal|data|frame|sample|box|atom)/i.test(
        l,
      ),
    );
}

describe('VLC launched by dream-cli stream', () => {
  it('plays the clip to the end while it downloads', async () => {
    // --rate=4: the 60 s clip plays in 15 s, while it arrives.
    const { log, progressWhenReading } = await playThroughDream(60, ['--rate=4']);
    expect(progressWhenReading, 'VLC read before the download was complete').toBeLessThan(0.5);
    expect(log).toContain('Received first picture');
    expect(log).toContain('EOF reached');
    expect(streamErrors(log)).toEqual([]);
  }, 120_000);

  it('starts at 70%', async () => {
    const { log, size } = await playThroughDream(61, ['--rate=4', '--start-time=42.7']);
    // VLC jumps there with a Range request (from the keyframe before 70 %, beyond its read-ahead).
    const starts = [...log.matchAll(/Range: bytes=(\d+)-/g)].map((m) => Number(m[1]) / size);
    expect(
      starts.some((f) => f > 0.55 && f < 0.72),
      `Range requests at ${starts.map((f) => f.toFixed(2))}`,
    ).toBe(true);
    expect(log).toContain('Received first picture');
    expect(log).toContain('EOF reached');
    expect(streamErrors(log)).toEqual([]);
  }, 120_000);
});

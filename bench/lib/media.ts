// The test video and the first-decoded-frame probe.
//
// The video is what makes streaming hard for a BitTorrent client: an H.264 MP4 whose `moov` atom (the
// index a player needs before it can decode anything) sits at the END of the file, as ffmpeg writes it
// without `-movflags +faststart` and as many files in the wild are. A player reads the head, jumps to
// the tail for `moov`, then jumps back to the first frame: a client that only reads sequentially
// makes the user wait for the whole file.
import { spawn } from 'node:child_process';
import { open, rename, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export interface VideoSpec {
  seconds: number;
  /** Video bit rate, bits/s (x264 ABR with a capped rate, so the size is predictable). */
  bitsPerSecond: number;
  width: number;
  height: number;
}

/**
 * 236 s of 1280x720 at 7 Mbit/s: about 200 MiB, the size of the files in the figures, and a
 * bit rate (0.83 MiB/s) at which a 4 MiB/s seeder is about 5x real time.
 */
export const DEFAULT_VIDEO: VideoSpec = { seconds: 236, bitsPerSecond: 7_000_000, width: 1280, height: 720 };

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/**
 * Make (or reuse) the test video at `path`. Encoded with -preset ultrafast (about 2.5x real time on 2
 * cores) to a temporary name and renamed at the end, so an interrupted run never leaves a truncated
 * file that a later run would trust.
 */
export async function ensureTestVideo(path: string, spec: VideoSpec = DEFAULT_VIDEO): Promise<void> {
  try {
    if ((await stat(path)).size > 0) return;
  } catch {
    // not made yet
  }
  const kbps = Math.round(spec.bitsPerSecond / 1000);
  const partial = `${path}.partial.mp4`;
  const result = await run(
    'ffmpeg',
    [
      ...['-v', 'error', '-y', '-f', 'lavfi'],
      ...['-i', `testsrc2=size=${spec.width}x${spec.height}:rate=30`, '-t', String(spec.seconds)],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`],
      // No `-movflags +faststart`: the mp4 muxer then writes `moov` after `mdat`, at the end.
      partial,
    ],
    30 * 60_000,
  );
  if (result.code !== 0)
    throw new Error(`ffmpeg could not make the test video (exit ${result.code}):\n${result.stderr}`);
  await rename(partial, path);
}

export interface Mp4Box {
  type: string;
  offset: number;
  size: number;
}

/** The top-level boxes of an MP4 file (to check, and report, that `moov` is at the end). */
export async function topLevelBoxes(path: string): Promise<Mp4Box[]> {
  const handle = await open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const boxes: Mp4Box[] = [];
    const header = Buffer.alloc(16);
    for (let offset = 0; offset + 8 <= fileSize; ) {
      await handle.read(header, 0, 16, offset);
      let size = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (size === 1)
        size = Number(header.readBigUInt64BE(8)); // 64-bit "largesize"
      else if (size === 0) size = fileSize - offset; // box runs to the end of the file
      if (size < 8) throw new Error(`${path}: malformed MP4 box ${JSON.stringify(type)} at ${offset}`);
      boxes.push({ type, offset, size });
      offset += size;
    }
    return boxes;
  } finally {
    await handle.close();
  }
}

export interface FirstFrame {
  ok: boolean;
  /** performance.now() when ffprobe exited. */
  exitedAt: number;
  detail: string;
}

/**
 * Decode the first video frame of `url` with ffprobe and resolve when it exits: the first moment a
 * player could show a picture. ffprobe reads the MP4 exactly as a player opens it (head, `moov` at the
 * tail, then the first samples) and stops after one frame (`-read_intervals %+#1`).
 */
export async function firstDecodedFrame(url: string, timeoutMs = 120_000): Promise<FirstFrame> {
  const args = [
    ...['-v', 'error', '-read_intervals', '%+#1', '-select_streams', 'v:0'],
    ...['-show_frames', '-show_entries', 'frame=pkt_pts_time', '-of', 'csv', url],
  ];
  const result = await run('ffprobe', args, timeoutMs);
  return {
    ok: result.code === 0,
    exitedAt: performance.now(),
    detail: result.code === 0 ? 'ok' : `ffprobe exit ${result.code}: ${result.stderr.trim().slice(-300)}`,
  };
}

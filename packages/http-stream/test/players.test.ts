/**
 * Real players read from the server: ffprobe probes an MP4 whose `moov` atom sits at the end (it
 * must seek there with a Range), and mpv plays a clip to the end, and from 70%. The MP4 is made by
 * ffmpeg in the test; the server serves it through the SeekableFile interface.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamServer, type SeekableFile, type StreamServer } from '../src/index.js';
import { diskFile } from './helpers.js';

const run = promisify(execFile);
const IH = 'c0ffee'.padEnd(40, '0');

let dir: string;
let server: StreamServer;
const seen: Array<{ start: number; end: number }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dream-http-stream-'));
  const mp4 = join(dir, 'clip.mp4');
  // ffmpeg writes the moov atom at the end by default (no +faststart): the hard case for streaming.
  await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=duration=3:size=320x240:rate=25',
      '-pix_fmt',
      'yuv420p',
      mp4,
    ],
    { timeout: 60_000 },
  );
  const file = diskFile('Clip One/clip.mp4', mp4);
  const recording: SeekableFile = {
    ...file,
    createReadStream(start, end, signal) {
      seen.push({ start, end });
      return file.createReadStream(start, end, signal);
    },
  };
  server = await createStreamServer(
    { files: (ih) => (ih === IH ? [recording] : undefined) },
    {
      host: '127.0.0.1',
      port: 0,
    },
  );
}, 90_000);

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Run a player with a hard timeout, killing it by PID in any case. */
async function runPlayer(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      child.stderr?.on('data', (d) => {
        out += d;
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, out }));
      timer = setTimeout(
        () => reject(new Error(`${cmd} did not finish in ${timeoutMs} ms:\n${out}`)),
        timeoutMs,
      );
    });
  } finally {
    clearTimeout(timer);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
    }
  }
}

// No user config, no outputs, no youtube-dl hook; print where playback started and why it ended.
const MPV = [
  '--no-config',
  '--vo=null',
  '--ao=null',
  '--ytdl=no',
  '--quiet',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: mpv's own property expansion, not JS
  '--term-playing-msg=pos=${=time-pos}',
];

function startPosition(out: string): number {
  const m = /^pos=([0-9.]+)$/m.exec(out);
  if (!m) throw new Error(`mpv printed no start position:\n${out}`);
  return Number(m[1]);
}

const url = () => `${server.url}/stream/${IH}/Clip%20One/clip.mp4`;

describe('real players', () => {
  it('ffprobe reads the MP4 (moov at the end) over HTTP', async () => {
    seen.length = 0;
    const { code, out } = await runPlayer(
      'ffprobe',
      [
        '-v',
        'error',
        '-show_entries',
        'format=duration:stream=codec_name,width,height',
        '-of',
        'json',
        url(),
      ],
      60_000,
    );
    expect(code, out).toBe(0);
    const info = JSON.parse(out) as { format: { duration: string }; streams: Array<{ width: number }> };
    expect(Number(info.format.duration)).toBeCloseTo(3, 0);
    expect(info.streams[0]?.width).toBe(320);
    // It had to seek to the moov atom: some reader started past the beginning.
    expect(seen.some((r) => r.start > 0)).toBe(true);
  });

  it('mpv plays the clip to the end and exits 0', async () => {
    const { code, out } = await runPlayer('mpv', [...MPV, url()], 60_000);
    expect(code, out).toBe(0);
    expect(out).toContain('(End of file)');
    expect(startPosition(out)).toBeLessThan(0.5);
  });

  it('mpv starts at 70% and exits 0', async () => {
    const { code, out } = await runPlayer('mpv', [...MPV, '--start=70%', url()], 60_000);
    expect(code, out).toBe(0);
    expect(out).toContain('(End of file)');
    // 70% of 3 s, to the frame mpv lands on.
    expect(startPosition(out)).toBeGreaterThan(1.8);
  });

  it('mpv plays from the .m3u playlist', async () => {
    const { code, out } = await runPlayer('mpv', [...MPV, `${server.url}/stream/${IH}.m3u`], 60_000);
    expect(code, out).toBe(0);
    expect(out).toContain('(End of file)');
  });
});

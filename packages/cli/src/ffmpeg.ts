/** The few ffmpeg jobs dream-cli does: a faststart remux and the quickstart's sample clip. */
import { spawn } from 'node:child_process';
import { CliError, EXIT } from './errors.js';
import { findExecutable } from './player.js';

function run(args: string[]): Promise<void> {
  const exe = findExecutable('ffmpeg');
  if (!exe) {
    return Promise.reject(
      new CliError(
        'FFMPEG_NOT_INSTALLED',
        'ffmpeg is not installed; install it (apt install ffmpeg) or upload without --faststart.',
        EXIT.usage,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      shell: false,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new CliError(
              'FFMPEG_FAILED',
              `ffmpeg failed (status ${code}): ${stderr.trim()}`,
              EXIT.unexpected,
            ),
          ),
    );
  });
}

/** Remuxes (no re-encoding) so `moov` comes first; writes a new file, never touches the input. */
export function faststart(input: string, output: string): Promise<void> {
  return run(['-i', input, '-map', '0', '-c', 'copy', '-movflags', '+faststart', output]);
}

/** A test-pattern clip with a tone: the quickstart's and the end-to-end tests' sample video. */
export function sampleClip(
  output: string,
  seconds: number,
  opts: { moovAtEnd?: boolean; size?: string } = {},
): Promise<void> {
  return run([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=duration=${seconds}:size=${opts.size ?? '640x360'}:rate=25`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '50',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    ...(opts.moovAtEnd ? [] : ['-movflags', '+faststart']),
    output,
  ]);
}

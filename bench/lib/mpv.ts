// A headless mpv that reports the moment it has shown its first frame, for the clients' own player
// options (`peerflix --mpv`, `webtorrent --mpv`, `dream-cli stream --player mpv`).
//
// Each client launches "mpv" from PATH in its own way (peerflix through a shell command line,
// webtorrent through a shell, Dream with an argument array), so the benchmark puts a small `mpv`
// wrapper first on PATH: a POSIX shell script (no Node start-up in the measurement) that runs the
// real mpv and appends the time it exited (nanoseconds since the epoch) and its exit status to a
// file named by DREAM_BENCH_MPV_MARK. The real mpv reads $MPV_HOME/mpv.conf: no window, no audio, frames as
// fast as they decode, and `frames=1`, so it exits right after its first video frame. The issue's
// reference figures are this: "first decoded frame in mpv".
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findExecutable } from '../../packages/cli/src/player.js';

export interface HeadlessMpv {
  /** Environment for a client under test: the wrapper first on PATH, MPV_HOME, the mark file. */
  env(markFile: string): NodeJS.ProcessEnv;
  /**
   * When the mpv reporting to `markFile` exited (performance.now(), this process's clock) and with
   * what status (0: it showed its first frame); polls until `timeoutMs`, then undefined.
   */
  exitOf(markFile: string, timeoutMs: number): Promise<{ at: number; status: number } | undefined>;
}

/** Writes the wrapper and the config under `dir`; undefined when no mpv is installed. */
export async function headlessMpv(dir: string): Promise<HeadlessMpv | undefined> {
  const real = findExecutable('mpv');
  if (!real) return undefined;
  const bin = join(dir, 'bin');
  const home = join(dir, 'home');
  await mkdir(bin, { recursive: true });
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'mpv.conf'), 'vo=null\nao=null\naudio=no\nuntimed=yes\nframes=1\nquiet=yes\n');
  const wrapper = join(bin, 'mpv');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `${JSON.stringify(real)} "$@"`,
      'status=$?',
      'echo "$(date +%s%N) $status" >> "$DREAM_BENCH_MPV_MARK"',
      'exit $status',
      '',
    ].join('\n'),
  );
  await chmod(wrapper, 0o755);
  return {
    env: (markFile) => ({
      ...process.env,
      PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
      MPV_HOME: home,
      DREAM_BENCH_MPV_MARK: markFile,
    }),
    async exitOf(markFile, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        const text = await readFile(markFile, 'utf8').catch(() => '');
        const m = /^(\d+) (\d+)\n/.exec(text);
        if (m) {
          const epochMs = Number(BigInt(m[1]!) / 1000n) / 1000;
          return { at: epochMs - performance.timeOrigin, status: Number(m[2]) };
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      return undefined;
    },
  };
}

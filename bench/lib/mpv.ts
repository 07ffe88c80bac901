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
//
// The frame itself is marked, not only the exit: a script in $MPV_HOME/scripts appends the wall
// time at mpv's `playback-restart` event (logged right after "first video frame after restart
// shown"). mpv's exit comes 30-200 ms after its frame, and that tail is not the viewer's: mpv
// waits up to 100 ms for a demuxer thread still blocked reading the next bytes (traced in mpv's
// log: "Forcefully terminating demuxers..."), which is longest for a client that has not yet
// fetched what comes after the first frame. The viewer saw the picture at the frame.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findExecutable } from '../../packages/cli/src/player.js';

export interface HeadlessMpvOptions {
  /**
   * Start paused (`pause=yes`) and keep running: a viewer who paused at the first frame. mpv still
   * shows that frame (the mark is written) and its demuxer goes on filling its cache, as much as
   * the client's own mpv arguments allow: what the readahead-with-a-real-player figure measures.
   */
  paused?: boolean;
}

export interface HeadlessMpv {
  /** Environment for a client under test: the wrapper first on PATH, MPV_HOME, the mark file. */
  env(markFile: string): NodeJS.ProcessEnv;
  /**
   * When the mpv reporting to `markFile` showed its first frame and when it exited (performance.now(),
   * this process's clock; frameAt undefined if it exited without one) and with what status (0: it
   * showed its first frame); polls until `timeoutMs` for the exit, then undefined.
   */
  exitOf(markFile: string, timeoutMs: number): Promise<MpvRun | undefined>;
  /** When that mpv showed its first frame (performance.now()); polls until `timeoutMs`, then undefined. */
  frameOf(markFile: string, timeoutMs: number): Promise<number | undefined>;
}

export interface MpvRun {
  frameAt: number | undefined;
  exitAt: number;
  status: number;
}

/** Runs in the real mpv: appends `frame <epoch ns>` to the mark file once the first frame is shown. */
const FRAME_MARK_SCRIPT = `-- dream bench: mark the first frame's wall time (see bench/lib/mpv.ts)
local mark = os.getenv("DREAM_BENCH_MPV_MARK")
local marked = false
mp.register_event("playback-restart", function()
  if marked or not mark then return end
  marked = true
  -- Lua has no sub-second wall clock; date(1) runs on mpv's subprocess thread, not its core.
  local r = mp.command_native({ name = "subprocess", args = { "date", "+%s%N" }, capture_stdout = true, playback_only = false })
  if r and r.status == 0 then
    local f = io.open(mark, "a")
    if f then
      f:write("frame " .. r.stdout)
      f:close()
    end
  end
end)
`;

/** Nanoseconds since the epoch (as date +%s%N prints them) on this process's performance clock. */
function fromEpochNs(ns: string): number {
  return Number(BigInt(ns) / 1000n) / 1000 - performance.timeOrigin;
}

/** The mark file's text once `ready(text)`, polled every 10 ms for at most `timeoutMs`; else undefined. */
async function whenMarked(
  markFile: string,
  timeoutMs: number,
  ready: (text: string) => boolean,
): Promise<string | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const text = await readFile(markFile, 'utf8').catch(() => '');
    if (ready(text)) return text;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

const FRAME_LINE = /^frame (\d+)$/m;
const EXIT_LINE = /^exit (\d+) (\d+)$/m;

/** Writes the wrapper and the config under `dir`; undefined when no mpv is installed. */
export async function headlessMpv(
  dir: string,
  opts: HeadlessMpvOptions = {},
): Promise<HeadlessMpv | undefined> {
  const real = findExecutable('mpv');
  if (!real) return undefined;
  const bin = join(dir, 'bin');
  const home = join(dir, 'home');
  await mkdir(bin, { recursive: true });
  await mkdir(join(home, 'scripts'), { recursive: true });
  await writeFile(join(home, 'scripts', 'dream-bench-frame.lua'), FRAME_MARK_SCRIPT);
  const conf = opts.paused
    ? 'vo=null\nao=null\naudio=no\npause=yes\nquiet=yes\n'
    : 'vo=null\nao=null\naudio=no\nuntimed=yes\nframes=1\nquiet=yes\n';
  await writeFile(join(home, 'mpv.conf'), conf);
  const wrapper = join(bin, 'mpv');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `${JSON.stringify(real)} "$@"`,
      'status=$?',
      'echo "exit $(date +%s%N) $status" >> "$DREAM_BENCH_MPV_MARK"',
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
      const text = await whenMarked(markFile, timeoutMs, (t) => EXIT_LINE.test(t));
      if (text === undefined) return undefined;
      const exit = EXIT_LINE.exec(text)!;
      const frame = FRAME_LINE.exec(text);
      return {
        frameAt: frame ? fromEpochNs(frame[1]!) : undefined,
        exitAt: fromEpochNs(exit[1]!),
        status: Number(exit[2]),
      };
    },
    async frameOf(markFile, timeoutMs) {
      // An exit without a frame ends the wait too: no frame will come.
      const text = await whenMarked(markFile, timeoutMs, (t) => FRAME_LINE.test(t) || EXIT_LINE.test(t));
      const frame = text === undefined ? null : FRAME_LINE.exec(text);
      return frame ? fromEpochNs(frame[1]!) : undefined;
    },
  };
}

/**
 * Streaming benchmark: what a viewer feels with Dream, webtorrent-cli and peerflix on the same torrent
 * in the same run. Method and reasons: docs/design/benchmarks-method.md.
 *
 *   pnpm build && node --conditions=dream-source --import tsx bench/index.ts streaming
 *
 * Data: a ~200 MiB H.264 MP4 (1280x720, 7 Mbit/s, `moov` at the END), a v1 .torrent with 1 MiB
 * pieces, one libtorrent seeder on loopback, capped at 4 MiB/s, then uncapped. Per client and round
 * (a fresh client each time, rounds interleaved between clients): time to the first 64 KiB, time to
 * the first decoded frame (ffprobe), then a simulated player plays and seeks to 30%, 70% and 95%
 * (time to the first 64 KiB there). Once per client at 4 MiB/s: read the first 8 MiB, pause 30 s
 * with the connection open, and count what the seeder sent. Once per client: the answer to an
 * unsatisfiable range.
 *
 * Knobs: DREAM_BENCH_STREAMING_ROUNDS (default 3), DREAM_BENCH_STREAMING_PAUSE_S (default 30),
 * DREAM_BENCH_STREAMING_CLIENTS (comma list of webtorrent-cli,peerflix,Dream; default all),
 * DREAM_BENCH_SEEDER_TICK_MS (the seeder's libtorrent tick, default 500: its upload cap releases
 * data once per tick, so 50 makes it behave more like a real link of that rate),
 * DREAM_BENCH_STREAMING_PIECE_MIB (the torrents' piece size, default 1),
 * DREAM_BENCH_STREAMING_HYBRID=0 (skip the capped rounds on a hybrid v1+v2 torrent of the same file,
 * where Dream serves single blocks checked against their BEP 52 leaf hashes).
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { VBR_HEADROOM } from '../packages/torrent-engine/src/scheduler/bitrate.js';
import { ensureCompetitorsInstalled, PEERFLIX_BIN, WEBTORRENT_BIN } from './competitors/paths.js';
import { peerflix } from './competitors/peerflix.js';
import { webtorrent } from './competitors/webtorrent.js';
import { spawnClient } from './lib/child.js';
import { type Contender, NotAvailable, type StreamRequest } from './lib/contender.js';
import { DREAM_CLI_BIN, dream } from './lib/dream.js';
import { type BadRangeAnswer, rangeOf, timeRangeWhenUp, unsatisfiableRange } from './lib/http.js';
import { DEFAULT_VIDEO, ensureTestVideo, firstDecodedFrame, topLevelBoxes } from './lib/media.js';
import { type HeadlessMpv, headlessMpv } from './lib/mpv.js';
import { readThenHold, SimulatedPlayer } from './lib/player.js';
import { TreeMonitor } from './lib/proc.js';
import { type BenchTorrent, SEEDER_TICK_MS, type Swarm, startSwarm, torrentOf } from './lib/seed.js';
import { formatMiB, formatMs, MiB, median, ratio, type Summary, summarize } from './lib/stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.bench-tmp', 'streaming');
const ROUNDS = Number(process.env.DREAM_BENCH_STREAMING_ROUNDS ?? 3);
const PAUSE_MS = Number(process.env.DREAM_BENCH_STREAMING_PAUSE_S ?? 30) * 1000;
const CAP = 4 * MiB;
const SEEKS = [0.3, 0.7, 0.95];
const HYBRID = process.env.DREAM_BENCH_STREAMING_HYBRID !== '0';
/** Piece size of both torrents, MiB (DREAM_BENCH_STREAMING_PIECE_MIB): 1 by default, as in the issue. */
const PIECE_MIB = Number(process.env.DREAM_BENCH_STREAMING_PIECE_MIB ?? 1);
/** Playback between seeks: long enough for a client to settle into playing, short enough for the budget. */
const PLAY_MS = 2_000;

/**
 * PLAY_MS plus a part of the seeder's rate-limiter tick, different for each pause of a round and
 * the same for every client in that round. A flat 2,000 ms is four 500 ms ticks: a seek that landed
 * on one of the seeder's bursts started the next seek at the same point of the tick, right after a
 * burst, so every later seek of the round waited a whole tick (traced on 2026-12-03: Dream's 70 %
 * seeks 497-500 ms in every round, the 95 % ones 961-992). A viewer's seek falls anywhere in the
 * tick. Golden-ratio steps spread the offsets evenly over the tick without a random generator, so
 * a run is reproducible.
 */
function playMs(round: number, step: number): number {
  const x = ((round * (SEEKS.length + 1) + step + 1) * 0.6180339887498949) % 1;
  return PLAY_MS + Math.round(x * SEEDER_TICK_MS);
}
/**
 * A seek that has not landed after this long counts as failed (and is listed in the notes): 15 s is
 * 60 times the 4 MiB/s piece time, and a viewer gave up long before.
 */
const SEEK_TIMEOUT_MS = 15_000;
/** A client whose mpv shows no frame in this long counts as failed (listed in the notes). */
const MPV_TIMEOUT_MS = 60_000;
/** Read before the pause: about 10 s of the test video, a player that has just started. */
const PAUSE_AFTER = 8 * MiB;
/** Dream's default stream.readahead_seconds (packages/config), for the readahead bound. */
const READAHEAD_SECONDS = 30;

const ALL: Contender[] = [webtorrent, peerflix, dream];
const COMPETITORS = ['webtorrent-cli', 'peerflix'];

interface Round {
  ttfbMs: number;
  frameMs: number | undefined;
  seekMs: (number | undefined)[];
  downloaded: number;
  cpuSeconds: number;
  peakRss: number;
  notes: string[];
}

interface Pause {
  atPause: number;
  duringPause: number;
  /** Bytes in the kernel's TCP queues between the server and the player at the end of the pause. */
  inSockets: number;
  /**
   * The client's verified pieces at the end of the pause, as ranges, when it has a control API that
   * tells (Dream's): where the bytes beyond the playhead are, for a run that goes over the bound.
   */
  verifiedPieces?: string;
  /**
   * The engine's stream readers at the end of the pause (Dream's control API), position and window
   * end, and the payload it received and wasted.
   */
  readers?: string;
}

/**
 * A real mpv, launched by the client's own player option and paused at its first frame: what the
 * user's bandwidth does while the viewer has paused. The simulated player's pause above measures
 * the engine alone; here the player's own cache counts too (mpv's default fills up to 150 MiB, paused
 * or not), with whatever mpv arguments each CLI passes.
 */
interface PausedPlayer {
  /** Spawn of the CLI to mpv's first frame. */
  frameMs: number;
  /** Downloaded (seeder's upload counter) when the frame showed. */
  atFrame: number;
  /** Downloaded in the PAUSE_MS after it. */
  duringPause: number;
}

/**
 * What the client's control API says at the end of the pause (Dream's; undefined for others): its
 * verified pieces as ranges ("0-49,195-197") and its stream readers' windows, in MiB of the file.
 */
async function engineView(
  url: string,
  infoHash: string,
  pieceCount: number,
): Promise<{ verifiedPieces: string; readers: string } | undefined> {
  try {
    const res = await fetch(`${new URL(url).origin}/api/torrents/${infoHash}`);
    if (!res.ok) return undefined;
    const detail = (await res.json()) as {
      downloaded?: number;
      wasted?: number;
      bitfield?: string;
      readers?: { id: string; start: number; end: number; playhead: number }[];
    };
    if (!detail.bitfield) return undefined;
    const bits = Buffer.from(detail.bitfield, 'base64');
    const ranges: string[] = [];
    let start = -1;
    for (let i = 0; i <= pieceCount; i++) {
      const has = i < pieceCount && (bits[i >> 3]! & (0x80 >> (i & 7))) !== 0;
      if (has && start < 0) start = i;
      if (!has && start >= 0) {
        ranges.push(start === i - 1 ? `${start}` : `${start}-${i - 1}`);
        start = -1;
      }
    }
    const readers = (detail.readers ?? [])
      .map((r) => `${r.id} at ${formatMiB(r.playhead)}, window to ${formatMiB(r.end)}`)
      .join('; ');
    // Payload the engine received and what of it it threw away, beside the seeder's upload counter.
    const received = `received ${formatMiB(detail.downloaded ?? 0)}, ${formatMiB(detail.wasted ?? 0)} of it wasted`;
    return { verifiedPieces: ranges.join(','), readers: `${readers || 'none'}; ${received}` };
  } catch {
    return undefined;
  }
}

interface ClientResult {
  rounds: Round[];
  /** Spawn to mpv's first frame, mpv launched by the client's own option (undefined: failed). */
  mpvFrameMs: (number | undefined)[];
  /** Spawn to that mpv's exit after its first frame (the frame mark's figure before 2026-12-02). */
  mpvExitMs: (number | undefined)[];
  mpvNotes: string[];
  failure?: string;
  badRange?: BadRangeAnswer;
  pause?: Pause;
  pauseFailure?: string;
  pausedPlayer?: PausedPlayer;
  pausedPlayerFailure?: string;
}

type Results = Map<string, ClientResult>;

/** `length` bytes of the source file at `offset`. */
async function readSlice(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err)
    .split('\n')[0]!
    .slice(0, 200);
}

async function withClient<T>(
  contender: Contender,
  swarm: Swarm,
  t: BenchTorrent,
  body: (url: string, askedAt: number, before: number, monitor: TreeMonitor | undefined) => Promise<T>,
  mpvEnv?: NodeJS.ProcessEnv,
): Promise<T> {
  const workDir = await mkdtemp(join(tmpdir(), 'dream-bench-stream-'));
  const request: StreamRequest = {
    ...(mpvEnv ? { mpv: { env: mpvEnv } } : {}),
    torrentPath: t.torrentPath,
    torrent: t.torrent,
    infoHash: t.infoHash,
    fileIndex: 0,
    filePath: t.name,
    peer: { host: '127.0.0.1', port: swarm.seeder.port },
    trackerUrl: swarm.trackerUrl,
    workDir,
    seederDial: (port) => swarm.dial(port),
  };
  const before = await swarm.uploaded();
  const launched = await contender.launch(request).catch(async (err) => {
    await rm(workDir, { recursive: true, force: true });
    throw err;
  });
  const monitor = new TreeMonitor(launched.pid);
  try {
    return await body(launched.url, launched.askedAt, before, monitor);
  } catch (err) {
    throw new Error(`${firstLine(err)}\n${launched.describe()}`);
  } finally {
    monitor.stop();
    await launched.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function measureRound(
  contender: Contender,
  swarm: Swarm,
  t: BenchTorrent,
  withBadRange: boolean,
  roundIndex: number,
) {
  const bytesPerSecond = DEFAULT_VIDEO.bitsPerSecond / 8;
  let badRange: BadRangeAnswer | undefined;
  const round = await withClient(contender, swarm, t, async (url, askedAt, before, monitor) => {
    const notes: string[] = [];
    const head = await timeRangeWhenUp(url, rangeOf(0, 64 * 1024), { timeoutMs: 120_000 });
    const ttfbMs = head.firstByteAt! - askedAt;
    const frame = await firstDecodedFrame(url);
    if (!frame.ok) notes.push(frame.detail);
    const frameMs = frame.ok ? frame.exitedAt - askedAt : undefined;
    const player = new SimulatedPlayer(url, { bytesPerSecond });
    const seekMs: (number | undefined)[] = [];
    try {
      await player.seek(0);
      await sleep(playMs(roundIndex, 0));
      for (const [i, fraction] of SEEKS.entries()) {
        try {
          const offset = Math.floor(fraction * t.size);
          const seek = await player.seek(offset, SEEK_TIMEOUT_MS);
          const right = seek.head.equals(await readSlice(t.videoPath, offset, seek.head.length));
          if (seek.status >= 300) notes.push(`seek to ${fraction * 100}%: status ${seek.status}`);
          else if (!right) notes.push(`seek to ${fraction * 100}%: WRONG BYTES (not counted)`);
          seekMs.push(seek.status < 300 && right ? seek.latencyMs : undefined);
        } catch (err) {
          notes.push(`seek to ${fraction * 100}%: ${firstLine(err)}`);
          seekMs.push(undefined);
        }
        await sleep(playMs(roundIndex, i + 1));
      }
    } finally {
      player.close();
    }
    const downloaded = (await swarm.uploaded()) - before;
    if (withBadRange) badRange = await unsatisfiableRange(url).catch(() => undefined);
    const usage = monitor!.stop();
    return {
      ttfbMs,
      frameMs,
      seekMs,
      downloaded,
      cpuSeconds: usage.cpuSeconds,
      peakRss: usage.peakRssBytes,
      notes,
    } satisfies Round;
  });
  return { round, badRange };
}

/**
 * A client launched with its own player option, `mpv` first on its PATH reporting to a fresh mark
 * file; `body` gets when the client was asked, the seeder's counter before it, and the mark file.
 */
async function withMpvClient<T>(
  contender: Contender,
  swarm: Swarm,
  t: BenchTorrent,
  mpv: HeadlessMpv,
  body: (askedAt: number, before: number, mark: string) => Promise<T>,
): Promise<T> {
  const markDir = await mkdtemp(join(tmpdir(), 'dream-bench-mpv-'));
  const mark = join(markDir, 'marks');
  try {
    return await withClient(
      contender,
      swarm,
      t,
      (_url, askedAt, before) => body(askedAt, before, mark),
      mpv.env(mark),
    );
  } finally {
    await rm(markDir, { recursive: true, force: true });
  }
}

/**
 * Spawn of the client's CLI, with its own player option, to the first frame in that mpv: what the
 * issue's reference figures measure. Each client starts mpv when it chooses (peerflix and
 * webtorrent once their server listens, Dream as soon as it knows the file's URL).
 */
function measureMpvFrame(
  contender: Contender,
  swarm: Swarm,
  t: BenchTorrent,
  mpv: HeadlessMpv,
): Promise<{ frameMs: number; exitMs: number }> {
  return withMpvClient(contender, swarm, t, mpv, async (askedAt, _before, mark) => {
    const run = await mpv.exitOf(mark, MPV_TIMEOUT_MS);
    if (!run) throw new Error(`mpv showed no frame within ${MPV_TIMEOUT_MS / 1000} s`);
    if (run.status !== 0) throw new Error(`mpv exited with status ${run.status}`);
    if (run.frameAt === undefined) throw new Error('mpv exited 0 without marking its first frame');
    return { frameMs: run.frameAt - askedAt, exitMs: run.exitAt - askedAt };
  });
}

async function measurePause(contender: Contender, swarm: Swarm, t: BenchTorrent): Promise<Pause> {
  return withClient(contender, swarm, t, async (url, _askedAt, before) => {
    const held = await readThenHold(url, PAUSE_AFTER);
    try {
      const atPause = (await swarm.uploaded()) - before;
      await sleep(PAUSE_MS);
      const atEnd = (await swarm.uploaded()) - before;
      const inSockets = held.queued();
      const view = await engineView(url, t.infoHash, Math.ceil(t.size / t.pieceLength));
      return {
        atPause,
        duringPause: atEnd - atPause,
        inSockets,
        ...(view ?? {}),
      };
    } finally {
      held.close();
    }
  });
}

function measurePausedPlayer(
  contender: Contender,
  swarm: Swarm,
  t: BenchTorrent,
  pausedMpv: HeadlessMpv,
): Promise<PausedPlayer> {
  return withMpvClient(contender, swarm, t, pausedMpv, async (askedAt, before, mark) => {
    const frameAt = await pausedMpv.frameOf(mark, MPV_TIMEOUT_MS);
    if (frameAt === undefined) throw new Error(`mpv showed no frame within ${MPV_TIMEOUT_MS / 1000} s`);
    const atFrame = (await swarm.uploaded()) - before;
    await sleep(PAUSE_MS);
    const atEnd = (await swarm.uploaded()) - before;
    return { frameMs: frameAt - askedAt, atFrame, duringPause: atEnd - atFrame };
  });
}

/** Milliseconds `node <bin> --version` takes: the start-up a CLI pays before it can do anything. */
async function cliStartMs(bin: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const child = spawnClient('startup', process.execPath, [bin, '--version'], dirname(bin));
    await child.exited;
    samples.push(performance.now() - started);
  }
  return median(samples);
}

async function runScenario(
  label: string,
  cap: number,
  contenders: Contender[],
  t: BenchTorrent,
  results: Results,
  withPause: boolean,
  mpv: HeadlessMpv | undefined,
  pausedMpv?: HeadlessMpv,
): Promise<void> {
  const swarm = await startSwarm(t, cap);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Interleaved (one round of each client, then the next round) so a drift of the machine's load
      // during the run touches every client alike.
      for (const c of contenders) {
        const result = results.get(c.name)!;
        if (result.failure) continue;
        process.stderr.write(`    streaming ${label}: ${c.name} round ${r + 1}/${ROUNDS}\n`);
        try {
          const { round, badRange } = await measureRound(c, swarm, t, result.badRange === undefined, r);
          result.rounds.push(round);
          result.badRange ??= badRange;
        } catch (err) {
          if (err instanceof NotAvailable || result.rounds.length === 0) result.failure = firstLine(err);
          else result.rounds.push({ ...emptyRound(), notes: [firstLine(err)] });
          process.stderr.write(`    ${c.name}: ${(err as Error).message}\n`);
        }
        if (!mpv || result.failure) continue;
        try {
          const { frameMs, exitMs } = await measureMpvFrame(c, swarm, t, mpv);
          result.mpvFrameMs.push(frameMs);
          result.mpvExitMs.push(exitMs);
        } catch (err) {
          result.mpvFrameMs.push(undefined);
          result.mpvExitMs.push(undefined);
          result.mpvNotes.push(`first frame in mpv: ${firstLine(err)}`);
        }
      }
    }
    if (!withPause) return;
    for (const c of contenders) {
      const result = results.get(c.name)!;
      if (result.failure) continue;
      process.stderr.write(`    streaming ${label}: ${c.name} pause ${PAUSE_MS / 1000} s\n`);
      try {
        result.pause = await measurePause(c, swarm, t);
      } catch (err) {
        result.pauseFailure = firstLine(err);
      }
      if (!pausedMpv) continue;
      process.stderr.write(`    streaming ${label}: ${c.name} mpv paused ${PAUSE_MS / 1000} s\n`);
      try {
        result.pausedPlayer = await measurePausedPlayer(c, swarm, t, pausedMpv);
      } catch (err) {
        result.pausedPlayerFailure = firstLine(err);
      }
    }
  } finally {
    await swarm.stop();
  }
}

function emptyRound(): Round {
  return {
    ttfbMs: Number.NaN,
    frameMs: undefined,
    seekMs: [],
    downloaded: Number.NaN,
    cpuSeconds: Number.NaN,
    peakRss: Number.NaN,
    notes: [],
  };
}

function finite(values: (number | undefined)[]): number[] {
  return values.filter((v): v is number => v !== undefined && Number.isFinite(v));
}

// ---------------------------------------------------------------------------------------------------
// Report

interface Row {
  label: string;
  /** Summary per client name; undefined = not measured. */
  of: (r: ClientResult) => Summary | undefined;
  format: (s: Summary) => string;
  /** Dream / best competitor goal, as a ratio (0.5 = half), or undefined when there is none. */
  goal?: { maxRatio: number; text: string };
}

function bestCompetitor(results: Results, of: Row['of']): number | undefined {
  const medians = COMPETITORS.map((n) => results.get(n))
    .map((r) => (r && !r.failure ? of(r) : undefined))
    .map((s) => s?.median)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  return medians.length ? Math.min(...medians) : undefined;
}

function table(results: Results, names: string[], rows: Row[]): string {
  const dreamResult = results.get('Dream');
  const header = `| | ${names.join(' | ')} | Dream / best other | goal |`;
  const lines = [header, `|---|${names.map(() => '---|').join('')}---|---|`];
  for (const row of rows) {
    const cells = names.map((n) => {
      const r = results.get(n);
      if (!r) return 'not run';
      if (r.failure) return 'not measured';
      const s = row.of(r);
      return s && s.n > 0 ? row.format(s) : '–';
    });
    const best = bestCompetitor(results, row.of);
    const mine = dreamResult && !dreamResult.failure ? row.of(dreamResult)?.median : undefined;
    let goal = '';
    if (row.goal) {
      const met =
        mine !== undefined && best !== undefined && Number.isFinite(mine)
          ? mine <= row.goal.maxRatio * best
            ? 'met'
            : 'NOT met'
          : 'n/a';
      goal = `${row.goal.text}: ${met}`;
    }
    lines.push(`| ${row.label} | ${cells.join(' | ')} | ${ratio(mine, best)} | ${goal} |`);
  }
  return lines.join('\n');
}

function scenarioRows(): Row[] {
  const ms = (pick: (round: Round) => number | undefined) => (r: ClientResult) =>
    summarize(finite(r.rounds.map(pick)));
  const half = { maxRatio: 0.5, text: '≤ 0.5× best' };
  return [
    { label: 'first 64 KiB', of: ms((x) => x.ttfbMs), format: formatMs },
    { label: 'first decoded frame (ffprobe)', of: ms((x) => x.frameMs), format: formatMs, goal: half },
    {
      label: 'first frame in mpv, launched by the CLI',
      of: (r: ClientResult) => summarize(finite(r.mpvFrameMs)),
      format: formatMs,
      goal: half,
    },
    {
      label: "that mpv's exit after its frame",
      of: (r: ClientResult) => summarize(finite(r.mpvExitMs)),
      format: formatMs,
    },
    ...SEEKS.map((f, i) => ({
      label: `seek to ${f * 100}%, first 64 KiB`,
      of: ms((x) => x.seekMs[i]),
      format: formatMs,
      goal: half,
    })),
    {
      label: 'downloaded in the round',
      of: ms((x) => x.downloaded),
      format: (s: Summary) => formatMiB(s.median),
    },
    {
      label: 'CPU time in the round',
      of: ms((x) => x.cpuSeconds),
      format: (s: Summary) => `${s.median.toFixed(1)} s`,
    },
    { label: 'peak RSS', of: ms((x) => x.peakRss), format: (s: Summary) => formatMiB(s.median) },
  ];
}

/**
 * A markdown table with a column per client and a row per figure: `of(name)` is the client's
 * measurement, or a string to print in every row instead (not measured, failed).
 */
function clientTable<T>(
  names: string[],
  of: (name: string) => T | string | undefined,
  rows: [string, (value: T) => string][],
): string[] {
  const cell = (n: string, f: (value: T) => string) => {
    const v = of(n);
    return typeof v === 'string' ? v : v === undefined ? '–' : f(v);
  };
  return [
    `| | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---|').join('')}`,
    ...rows.map(([label, f]) => `| ${label} | ${names.map((n) => cell(n, f)).join(' | ')} |`),
  ];
}

function notesOf(results: Results): string[] {
  const out: string[] = [];
  for (const [name, r] of results) {
    if (r.failure) out.push(`- ${name}: not measured: ${r.failure}`);
    const notes = [...new Set([...r.rounds.flatMap((x) => x.notes), ...r.mpvNotes])];
    for (const n of notes) out.push(`- ${name}: ${n}`);
  }
  return out;
}

export async function run(): Promise<string> {
  const wanted = (process.env.DREAM_BENCH_STREAMING_CLIENTS ?? '').split(',').filter(Boolean);
  const contenders = ALL.filter((c) => wanted.length === 0 || wanted.includes(c.name));
  const started = Date.now();
  await mkdir(CACHE, { recursive: true });

  let installFailure: string | undefined;
  try {
    ensureCompetitorsInstalled();
  } catch (err) {
    installFailure = `install.sh failed: ${firstLine(err)}`;
  }

  const videoPath = join(CACHE, 'dream-bench-720p.mp4');
  await ensureTestVideo(videoPath);
  const boxes = await topLevelBoxes(videoPath);
  const size = boxes.reduce((end, b) => Math.max(end, b.offset + b.size), 0);
  const moov = boxes.find((b) => b.type === 'moov');
  const mdat = boxes.find((b) => b.type === 'mdat');
  if (!moov || !mdat || moov.offset < mdat.offset) throw new Error(`${videoPath}: moov is not after mdat`);
  const t = await torrentOf(videoPath, size, PIECE_MIB * MiB);
  const tHybrid = HYBRID ? await torrentOf(videoPath, size, t.pieceLength, true) : undefined;
  const bytesPerSecond = DEFAULT_VIDEO.bitsPerSecond / 8;

  const startup = new Map<string, number>();
  const fresh = (): Results =>
    new Map(
      contenders.map((c) => [
        c.name,
        installFailure && COMPETITORS.includes(c.name)
          ? { rounds: [], mpvFrameMs: [], mpvExitMs: [], mpvNotes: [], failure: installFailure }
          : { rounds: [], mpvFrameMs: [], mpvExitMs: [], mpvNotes: [] },
      ]),
    );
  const capped = fresh();
  const uncapped = fresh();
  const cappedHybrid = fresh();
  const mpv = await headlessMpv(join(CACHE, 'mpv'));
  const pausedMpv = await headlessMpv(join(CACHE, 'mpv-paused'), { paused: true });
  await runScenario('4 MiB/s', CAP, contenders, t, capped, true, mpv, pausedMpv);
  await runScenario('uncapped', 0, contenders, t, uncapped, false, mpv);
  if (tHybrid)
    await runScenario('4 MiB/s, hybrid torrent', CAP, contenders, tHybrid, cappedHybrid, false, mpv);
  if (!installFailure) {
    if (contenders.includes(webtorrent)) startup.set('webtorrent-cli', await cliStartMs(WEBTORRENT_BIN));
    if (contenders.includes(peerflix)) startup.set('peerflix', await cliStartMs(PEERFLIX_BIN));
  }
  if (contenders.includes(dream)) startup.set('dream-cli', await cliStartMs(DREAM_CLI_BIN));

  const names = contenders.map((c) => c.name);
  const rows = scenarioRows();
  const pieceMs = (t.pieceLength / CAP) * 1000;
  // The engine's media rate is size / duration with VBR headroom (scheduler/bitrate.ts), its window
  // that many seconds of it; the player's playhead trails the engine's reader by what sits in the
  // TCP queues between them (measured, reported on its own line).
  const windowBytes = READAHEAD_SECONDS * bytesPerSecond * VBR_HEADROOM + t.pieceLength + 0.02 * t.size;

  const pauseLines = clientTable<Pause>(
    names,
    (n) => {
      const r = capped.get(n)!;
      return r.failure ? 'not measured' : r.pauseFailure ? `failed: ${r.pauseFailure}` : r.pause;
    },
    [
      ['downloaded when the player paused (after 8 MiB read)', (p) => formatMiB(p.atPause)],
      [`downloaded during the ${PAUSE_MS / 1000} s pause`, (p) => formatMiB(p.duringPause)],
      [
        'beyond the playhead at the end of the pause',
        (p) => {
          const beyond = p.atPause + p.duringPause - PAUSE_AFTER;
          return `${formatMiB(beyond)} (${Math.round(beyond / bytesPerSecond)} s of media)`;
        },
      ],
      ['of which in the TCP queues between server and player', (p) => formatMiB(p.inSockets)],
    ],
  );

  const pausedPlayerLines = clientTable<PausedPlayer>(
    names,
    (n) => {
      const r = capped.get(n)!;
      return r.failure
        ? 'not measured'
        : r.pausedPlayerFailure
          ? `failed: ${r.pausedPlayerFailure}`
          : r.pausedPlayer;
    },
    [
      ["spawn to mpv's first frame (paused there)", (p) => formatMs(summarize([p.frameMs]))],
      ['downloaded when the frame showed', (p) => formatMiB(p.atFrame)],
      [
        `downloaded in the next ${PAUSE_MS / 1000} s, paused`,
        (p) =>
          `${formatMiB(p.duringPause)} (${Math.round((p.atFrame + p.duringPause) / bytesPerSecond)} s of media in all)`,
      ],
    ],
  );

  const badRangeLine = (n: string) => {
    const r = capped.get(n)!;
    if (r.failure) return `| ${n} | not measured | |`;
    const b = r.badRange;
    if (!b) return `| ${n} | – | |`;
    const body = b.truncated ? `≥ ${formatMiB(b.bodyBytes)} (we hung up)` : `${b.bodyBytes} bytes`;
    return `| ${n} | ${b.status}${b.contentRange ? `, Content-Range: ${b.contentRange}` : ''} | ${body}${
      b.contentLength ? `, Content-Length ${b.contentLength}` : ''
    } |`;
  };

  const dreamCapped = capped.get('Dream');
  const dreamSeeks =
    dreamCapped && !dreamCapped.failure ? finite(dreamCapped.rounds.flatMap((x) => x.seekMs)) : [];
  const dreamHybrid = cappedHybrid.get('Dream');
  const dreamHybridSeeks =
    dreamHybrid && !dreamHybrid.failure ? finite(dreamHybrid.rounds.flatMap((x) => x.seekMs)) : [];
  const dreamPause = dreamCapped?.pause;
  const beyondDream = dreamPause
    ? dreamPause.atPause + dreamPause.duringPause - PAUSE_AFTER - dreamPause.inSockets
    : undefined;

  const out = [
    '## Streaming: first frame, seeks and readahead against webtorrent-cli and peerflix',
    '',
    'Command: `pnpm build && node --conditions=dream-source --import tsx bench/index.ts streaming` (part of',
    '`pnpm bench`). Method and reasons: [benchmarks-method.md](design/benchmarks-method.md).',
    '',
    `Data: ${formatMiB(size)} H.264 MP4 (${DEFAULT_VIDEO.width}x${DEFAULT_VIDEO.height}, ${DEFAULT_VIDEO.seconds} s, ` +
      `${DEFAULT_VIDEO.bitsPerSecond / 1e6} Mbit/s = ${formatMiB(bytesPerSecond)}/s) with its \`moov\` at the end ` +
      `(offset ${formatMiB(moov.offset)}), one-file v1 torrent with ${t.pieceLength / MiB} MiB pieces, one libtorrent ` +
      `seeder on loopback (its rate limiter's tick: ${SEEDER_TICK_MS} ms${SEEDER_TICK_MS === 500 ? ", libtorrent's default" : ''}). Clients: webtorrent-cli 5.1.3 (webtorrent 2.8.5), peerflix 0.39.0, Dream's dream-torrent ` +
      `daemon. ${ROUNDS} rounds per client and seeder rate, each with a fresh client and empty storage, interleaved; ` +
      'figures are medians with the range (min–max) of the rounds.',
    '',
    'Times count from the moment the stream is asked for, the spawn of the CLI a user types: `webtorrent',
    'download <file.torrent>`, `peerflix <file.torrent> --peer <seeder>` and `dream-cli stream <file.torrent> --peer',
    "<seeder> --print-url` (with dream-torrent already running, the issue's definition; webtorrent, which",
    "takes no peer address, finds the seeder through a loopback tracker). The CLIs' own",
    `start-up, \`node <cli> --version\`: ${
      [...startup].map(([n, v]) => `${n} ${Math.round(v)} ms`).join(', ') || 'not measured'
    }.`,
    '',
    `### Seeder capped at 4 MiB/s (one verified ${t.pieceLength / MiB} MiB piece takes ${Math.round(pieceMs)} ms)`,
    '',
    table(capped, names, rows),
    '',
    `Goal, a seek close to the time one verified piece takes at 4 MiB/s (~${Math.round(pieceMs)} ms): Dream's ` +
      (dreamSeeks.length
        ? `seeks took ${formatMs(summarize(dreamSeeks))} (all ${dreamSeeks.length}).`
        : 'not measured.'),
    '',
    `### Seeder uncapped (loopback)`,
    '',
    table(uncapped, names, rows),
    '',
    ...(tHybrid
      ? [
          `### Seeder capped at 4 MiB/s, hybrid v1+v2 torrent of the same file`,
          '',
          "The same file as a hybrid torrent, made by libtorrent (its default, and qBittorrent's), same piece size;",
          'the seeder hashed the file first (in seed mode libtorrent rejects hash requests). The other clients read',
          'its v1 half. Dream asks the seeder for the 16 KiB leaf hashes of the piece a reader stands in and serves',
          'each block once it matches its leaf (design/block-verification.md).',
          '',
          table(cappedHybrid, names, rows),
          '',
          `Dream's seeks on the hybrid torrent: ${dreamHybridSeeks.length ? `${formatMs(summarize(dreamHybridSeeks))} (all ${dreamHybridSeeks.length})` : 'not measured'}, ` +
            `against ${dreamSeeks.length ? formatMs(summarize(dreamSeeks)) : 'not measured'} on the v1 torrent (one piece at 4 MiB/s: ~${Math.round(pieceMs)} ms).`,
          '',
        ]
      : []),
    `### Readahead: ${PAUSE_MS / 1000} s of pause after the first 8 MiB, seeder at 4 MiB/s`,
    '',
    'The player reads the first 8 MiB (about 10 s of media) of `bytes=0-`, then stops reading with the',
    'connection open. Bytes are what the seeder uploaded to that client (libtorrent payload counter).',
    '',
    ...pauseLines,
    '',
    `Goal, bounded readahead: beyond what the player was sent (the playhead plus the TCP queues) at most ` +
      `stream.readahead_seconds (${READAHEAD_SECONDS} s) of media at the engine's rate (size / duration × ${VBR_HEADROOM}, ` +
      `read from the MP4's header), one piece and the ~1% head and tail primed at open: ${formatMiB(windowBytes)} here. Dream: ` +
      (beyondDream === undefined
        ? 'not measured.'
        : `${formatMiB(beyondDream)}, ${beyondDream <= windowBytes ? 'met' : 'NOT met'}.`) +
      (dreamPause?.verifiedPieces
        ? ` Dream's verified pieces at the end of the pause: ${dreamPause.verifiedPieces} (of ${t.pieceLength / MiB} MiB; ` +
          `its readers: ${dreamPause.readers ?? 'not reported'}; ` +
          `the player had been sent up to byte ${formatMiB(PAUSE_AFTER + dreamPause.inSockets)}).`
        : ''),
    '',
    `### A real mpv paused at its first frame for ${PAUSE_MS / 1000} s, seeder at 4 MiB/s`,
    '',
    'Each CLI launches mpv with its own player option (`peerflix --mpv`, `webtorrent --mpv`, `dream-cli stream',
    '--player mpv`), with the same mpv.conf for all: no video or audio output, `pause=yes`. What the seeder',
    "sent counts the engine's readahead and the player's own cache: mpv's default fills up to 150 MiB,",
    'paused or not; `dream-cli stream` passes `--cache-secs` (general.player_cache_seconds, 10 s).',
    '',
    ...pausedPlayerLines,
    '',
    '### Unsatisfiable range (`Range: bytes=999999999999-`)',
    '',
    'RFC 9110: 416 with `Content-Range: bytes */<size>`.',
    '',
    '| | status | body |',
    '|---|---|---|',
    ...names.map(badRangeLine),
    '',
  ];
  const notes = [
    ...notesOf(capped).map((n) => `${n} (4 MiB/s)`),
    ...notesOf(uncapped).map((n) => `${n} (uncapped)`),
    ...notesOf(cappedHybrid).map((n) => `${n} (4 MiB/s, hybrid torrent)`),
  ];
  if (notes.length) out.push('Notes:', '', ...notes, '');
  out.push(`Run took ${Math.round((Date.now() - started) / 1000)} s.`);
  return out.join('\n');
}

// Shared setup of the end-to-end streaming tests (issue 4): a libtorrent seeder on loopback (rate
// capped when asked), our engine with the daemon's HTTP server in this process on port 0, generated
// H.264 clips cached under os.tmpdir(), a plain HTTP client, and a spy on the torrent's reader
// windows. Everything binds 127.0.0.1; every start has a stop.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type CatalogStore, openCatalogStore } from '@dream/catalog';
import { createLogger, loadConfigText } from '@dream/config';
import type { FastifyInstance } from 'fastify';
import { buildDaemonServer } from '../src/daemon/server.js';
import { Engine } from '../src/engine/engine.js';
import type { Torrent } from '../src/engine/torrent.js';
import type { ReaderState } from '../src/scheduler/index.js';
import { Child } from './peers/child.js';
import {
  contentAt,
  makeFiles,
  makeTempDir,
  makeTorrent,
  removeDir,
  type TorrentFlavour,
} from './peers/fixtures.js';
import { type LibtorrentPeer, startLibtorrent } from './peers/libtorrent.js';

const execFileAsync = promisify(execFile);

export const KiB = 1024;
export const MiB = 1024 * KiB;

// DREAM_TEST_LOG=debug shows the engine's log when a test needs explaining.
const log = createLogger({
  name: 'streaming-test',
  level: (process.env.DREAM_TEST_LOG as 'debug' | undefined) ?? 'silent',
});

// ---- our node: engine + daemon HTTP server -------------------------------------------------------

export interface StreamingNode {
  engine: Engine;
  app: FastifyInstance;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  readaheadSeconds: number;
  /** This node's own catalog (served under /catalog), when asked for. */
  catalog?: CatalogStore;
  stop(): Promise<void>;
}

/**
 * An engine and the daemon's server (control API + stream routes) as dream-torrent wires them,
 * in this process so tests can look at the engine's torrents. No trackers, no DHT: peers are only
 * those the test gives.
 */
export async function startNode(
  opts: {
    readaheadSeconds?: number;
    /** Open this node's own catalog store (served under /catalog). */
    catalog?: boolean;
    corsOrigins?: string[];
    /** network.catalog_url: the network's catalog elsewhere. */
    catalogUrl?: string;
  } = {},
): Promise<StreamingNode> {
  const dir = await makeTempDir('dream-streaming-node-');
  const readaheadSeconds = opts.readaheadSeconds ?? 30;
  const toml = [
    '[general]',
    `output_dir = ${JSON.stringify(join(dir, 'out'))}`,
    `state_dir = ${JSON.stringify(join(dir, 'state'))}`,
    '[network]',
    `catalog_url = ${JSON.stringify(opts.catalogUrl ?? '')}`,
    '[dht]',
    'enabled = false',
    '[stream]',
    'host = "127.0.0.1"',
    'port = 0',
    `readahead_seconds = ${readaheadSeconds}`,
    `cors_origins = ${JSON.stringify(opts.corsOrigins ?? [])}`,
  ].join('\n');
  const { config } = loadConfigText(toml, join(dir, 'dream.toml'));
  let engine: Engine | undefined;
  let app: FastifyInstance | undefined;
  let catalog: CatalogStore | undefined;
  const stop = async () => {
    // A test that failed mid-stream may leave a response open; close() alone would wait for it.
    app?.server.closeAllConnections();
    await app?.close().catch(() => {});
    await engine?.stop().catch(() => {});
    await catalog?.close().catch(() => {});
    await removeDir(dir);
  };
  try {
    engine = await Engine.start({
      outputDir: join(dir, 'out'),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 200,
      log,
      trackers: false,
    });
    if (opts.catalog) catalog = await openCatalogStore(config, log);
    app = await buildDaemonServer(engine, { config, log, ...(catalog ? { catalog } : {}) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
    const baseUrl = `http://127.0.0.1:${address.port}`;
    return { engine, app, baseUrl, readaheadSeconds, ...(catalog ? { catalog } : {}), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- the built daemon ------------------------------------------------------------------------------

const DAEMON_BIN = fileURLToPath(new URL('../dist/bin/dream-torrent.js', import.meta.url));

export interface DaemonNode {
  /** http://127.0.0.1:<api port> */
  baseUrl: string;
  child: Child;
  stop(): Promise<void>;
}

/**
 * The built dream-torrent (dist/: `pnpm test` builds first) with its own config: everything on
 * 127.0.0.1, ports 0, no DHT. Resolves once it printed its ready line, which carries the API port.
 */
export async function startDaemon(): Promise<DaemonNode> {
  const dir = await makeTempDir('dream-streaming-daemon-');
  const config = join(dir, 'dream.toml');
  await writeFile(
    config,
    [
      '[general]',
      `output_dir = ${JSON.stringify(join(dir, 'out'))}`,
      `state_dir = ${JSON.stringify(join(dir, 'state'))}`,
      'log_level = "info"',
      '[dht]',
      'enabled = false',
      '[torrent]',
      'host = "127.0.0.1"',
      'port = 0',
      '[stream]',
      'host = "127.0.0.1"',
      'port = 0',
    ].join('\n'),
  );
  let apiPort: number | undefined;
  let onReady: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const child = new Child(process.execPath, [DAEMON_BIN, '--config', config], { label: 'dream-torrent' });
  // The daemon logs (JSON lines) to stderr; the ready line carries the API port.
  createInterface({ input: child.process.stderr! }).on('line', (line) => {
    if (!line.includes('dream-torrent ready')) return;
    try {
      apiPort = (JSON.parse(line) as { apiPort?: number }).apiPort;
    } catch {
      // a plain-text log line: the port ends the control API's URL
      apiPort = Number(/127\.0\.0\.1:(\d+)$/.exec(line)?.[1]);
    }
    onReady?.();
  });
  const stop = async () => {
    await child.stop();
    await removeDir(dir);
  };
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      child.exited.then(() => {
        throw new Error(`dream-torrent exited before it was ready\n${child.describe()}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`dream-torrent not ready in 30 s\n${child.describe()}`)),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (!apiPort) throw new Error(`dream-torrent ready line without a port\n${child.describe()}`);
    return { baseUrl: `http://127.0.0.1:${apiPort}`, child, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- seeders ------------------------------------------------------------------------------------

export interface Seed {
  torrent: Buffer;
  infoHash: string;
  /** magnet:?xt=urn:btih:<infohash>, nothing else: the metadata must come from the seeder. */
  magnet: string;
  size: number;
  pieceLength: number;
  peer: LibtorrentPeer;
  /** The folder the seeder serves from (the torrent's file is in it). */
  dir: string;
  /** The source bytes [offset, offset + length). */
  bytes(offset: number, length: number): Promise<Buffer>;
  stop(): Promise<void>;
}

export interface SeedOptions {
  pieceLength?: number;
  /** Seeder upload cap in bytes/s (applies to loopback peers); default unlimited. */
  uploadLimit?: number;
  /** The seeder's libtorrent tick in ms (its cap sends in bursts of this period); default 500. */
  tickIntervalMs?: number;
  /** Who makes the torrent: create-torrent (v1, the default) or libtorrent (hybrid v1+v2, ...). */
  flavour?: TorrentFlavour;
  /**
   * libtorrent's seed mode: it trusts the files without hashing them first (quicker to start).
   * Such a seeder answers BEP 52 hash requests with a reject; default true.
   */
  seedMode?: boolean;
}

/** A single-file torrent of `size` deterministic pseudo-random bytes, seeded by libtorrent. */
export async function seedRandomFile(
  name: string,
  size: number,
  opts: SeedOptions & { seed?: number } = {},
): Promise<Seed> {
  const root = await makeTempDir('dream-streaming-seed-');
  const seed = opts.seed ?? 1;
  try {
    await makeFiles(join(root, 'seed'), [{ path: name, size }], seed);
    return await seedPath(root, join(root, 'seed', name), size, opts, async (offset, length) =>
      contentAt(seed, name, offset, length),
    );
  } catch (err) {
    await removeDir(root);
    throw err;
  }
}

/** A single-file torrent of an existing file (a clip), seeded by libtorrent from a hard link. */
export async function seedExistingFile(file: string, opts: SeedOptions = {}): Promise<Seed> {
  const root = await makeTempDir('dream-streaming-seed-');
  try {
    await mkdir(join(root, 'seed'));
    const target = join(root, 'seed', basename(file));
    await link(file, target);
    const size = (await stat(target)).size;
    let data: Buffer | undefined;
    return await seedPath(root, target, size, opts, async (offset, length) => {
      data ??= await readFile(target);
      return data.subarray(offset, offset + length);
    });
  } catch (err) {
    await removeDir(root);
    throw err;
  }
}

async function seedPath(
  root: string,
  file: string,
  size: number,
  opts: SeedOptions,
  bytes: Seed['bytes'],
): Promise<Seed> {
  const pieceLength = opts.pieceLength ?? 256 * KiB;
  const made = await makeTorrent({
    source: file,
    pieceLength,
    ...(opts.flavour ? { flavour: opts.flavour } : {}),
  });
  const seedMode = opts.seedMode ?? true;
  const peer = await startLibtorrent({
    savePath: join(root, 'seed'),
    torrent: made.torrent,
    // The data is ours and known good: skip libtorrent's full hash check at start.
    seedMode,
    ...(opts.uploadLimit ? { uploadLimit: opts.uploadLimit } : {}),
    ...(opts.tickIntervalMs ? { tickIntervalMs: opts.tickIntervalMs } : {}),
  });
  if (!seedMode) await peer.waitFinished(60_000);
  return {
    torrent: made.torrent,
    infoHash: made.infoHash,
    magnet: made.magnet,
    size,
    pieceLength,
    peer,
    dir: join(root, 'seed'),
    bytes,
    async stop() {
      await peer.stop().catch(() => {});
      await removeDir(root);
    },
  };
}

/** Adds the seed's torrent to the node; with `connect: false` the seeder is given later (addPeers). */
export async function addSeed(node: StreamingNode, seed: Seed, connect = true): Promise<Torrent> {
  await node.engine.add(
    { torrent: seed.torrent },
    connect ? { peers: [{ host: '127.0.0.1', port: seed.peer.port }] } : {},
  );
  const t = node.engine.torrent(seed.infoHash);
  if (!t) throw new Error(`engine lost torrent ${seed.infoHash}`);
  return t;
}

export function connectSeed(node: StreamingNode, seed: Seed): void {
  node.engine.addPeers(seed.infoHash, [{ host: '127.0.0.1', port: seed.peer.port }]);
}

// ---- looking at the engine -----------------------------------------------------------------------

/**
 * Records the reader windows the streaming glue gives the torrent (Torrent.setReader): which are
 * registered now, and each one's latest window. Wraps the method on this one instance only.
 */
export interface ReaderSpy {
  live: Map<string, ReaderState>;
  ever: Set<string>;
  /** The torrent's verified pieces at the last moment its last stream reader went away. */
  haveWhenIdle: boolean[] | undefined;
  /** Each reader as it registered: where it starts (torrent bytes) and whether that piece was verified. */
  opened: { id: string; start: number; verified: boolean; bytesPerSecond: number }[];
}

export function spyReaders(torrent: Torrent): ReaderSpy {
  const spy: ReaderSpy = { live: new Map(), ever: new Set(), haveWhenIdle: undefined, opened: [] };
  const original = torrent.setReader.bind(torrent);
  const streaming = () => [...spy.live.keys()].some((id) => id.startsWith('reader:'));
  torrent.setReader = (id: string, window: ReaderState | undefined) => {
    if (window) {
      if (!spy.ever.has(id)) {
        const piece = Math.floor(window.start / (torrent.meta?.pieceLength ?? 1));
        spy.opened.push({
          id,
          start: window.start,
          verified: torrent.store?.have.get(piece) ?? false,
          bytesPerSecond: window.bytesPerSecond,
        });
      }
      spy.live.set(id, window);
      spy.ever.add(id);
    } else if (spy.live.delete(id) && id.startsWith('reader:') && !streaming()) {
      const count = torrent.meta?.pieceCount ?? 0;
      spy.haveWhenIdle = Array.from({ length: count }, (_, i) => torrent.store?.have.get(i) ?? false);
    }
    original(id, window);
  };
  return spy;
}

/** Bytes of verified pieces of the torrent at or after byte `from` (torrent coordinates). */
export function verifiedBytesFrom(torrent: Torrent, from: number): number {
  const meta = torrent.meta;
  const store = torrent.store;
  if (!meta || !store) return 0;
  let total = 0;
  for (let i = Math.floor(from / meta.pieceLength); i < meta.pieceCount; i++) {
    if (!store.have.get(i)) continue;
    const start = i * meta.pieceLength;
    total += start + meta.pieceSize(i) - Math.max(start, from);
  }
  return total;
}

/** Verified pieces with an index in [first, last]. */
export function verifiedPieces(torrent: Torrent, first: number, last: number): number {
  let n = 0;
  for (let i = first; i <= last; i++) if (torrent.store?.have.get(i)) n++;
  return n;
}

// ---- HTTP ---------------------------------------------------------------------------------------

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One GET on its own connection (no keep-alive pool), the whole body in memory. */
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`GET ${url} ${JSON.stringify(headers)} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function streamUrl(node: StreamingNode, infoHash: string, file: number | string = 0): string {
  return `${node.baseUrl}/stream/${infoHash}/${file}`;
}

/** GET /api/torrents/<infohash>: the engine's summary as a client of the daemon sees it. */
export async function torrentSummary(
  node: StreamingNode,
  infoHash: string,
): Promise<{ downloaded: number; progress: number; havePieces: number; length: number }> {
  const res = await httpGet(`${node.baseUrl}/api/torrents/${infoHash}`);
  if (res.status !== 200) throw new Error(`GET /api/torrents/${infoHash}: ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString('utf8'));
}

// ---- clips and players ----------------------------------------------------------------------------

export interface ClipOptions {
  seconds: number;
  /** moov atom first (true) or, ffmpeg's default, at the end (false). */
  faststart: boolean;
  /** Video bit rate, e.g. '3M'. */
  bitrate: string;
}

/**
 * A 640x360 H.264 MP4 made by ffmpeg, cached under os.tmpdir() by its parameters (several test
 * files and runs share it). Written to a temp name and renamed, so a half-written clip is never used.
 */
export async function makeClip(o: ClipOptions): Promise<string> {
  const dir = join(tmpdir(), 'dream-streaming-clips');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `clip-${o.seconds}s-${o.bitrate}-g50-${o.faststart ? 'faststart' : 'moovend'}.mp4`);
  try {
    if ((await stat(file)).size > 0) return file;
  } catch {
    // not made yet
  }
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.mp4`;
  try {
    await execFileAsync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=duration=${o.seconds}:size=640x360:rate=25`,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-b:v',
        o.bitrate,
        '-minrate',
        o.bitrate,
        '-maxrate',
        o.bitrate,
        '-bufsize',
        o.bitrate,
        // A keyframe every 2 s (x264's default is every 10 s): a seek lands near where it asked.
        '-g',
        '50',
        '-pix_fmt',
        'yuv420p',
        ...(o.faststart ? ['-movflags', '+faststart'] : []),
        '-y',
        temp,
      ],
      { timeout: 120_000 },
    );
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
  return file;
}

/** Runs a player with a hard timeout, killing it by PID in any case; stdout and stderr together. */
export async function runPlayer(
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

// mpv prints where playback was when it quit: "(End of file)" alone would also follow a stream cut short.
const MPV_LAST_POS_LUA = `local last = -1
mp.observe_property("time-pos", "number", function(_, v) if v then last = v end end)
mp.register_event("shutdown", function() io.stdout:write(string.format("last-pos=%.3f\\n", last)) end)
`;

/**
 * mpv's arguments for a headless run: no user config, no video or audio output, decode as fast as
 * data comes (--untimed), print the start position and, from a small Lua script, the last one.
 */
export async function mpvArgs(): Promise<string[]> {
  const dir = join(tmpdir(), 'dream-streaming-clips');
  await mkdir(dir, { recursive: true });
  const script = join(dir, 'last-pos.lua');
  await writeFile(script, MPV_LAST_POS_LUA);
  return [
    '--no-config',
    '--vo=null',
    '--ao=null',
    '--audio=no',
    '--untimed',
    '--ytdl=no',
    '--quiet',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mpv's own property expansion, not JS
    '--term-playing-msg=start-pos=${=time-pos}',
    `--script=${script}`,
  ];
}

/** mpv's printed start and last positions, in seconds (NaN when it printed none). */
export function mpvPositions(out: string): { start: number; last: number } {
  const start = /^start-pos=([0-9.]+)$/m.exec(out);
  const last = /^last-pos=(-?[0-9.]+)$/m.exec(out);
  return { start: start ? Number(start[1]) : Number.NaN, last: last ? Number(last[1]) : Number.NaN };
}

// The swarm harness (issue 7, docs/design/swarm.md#harness): one origin (our engine seeding a
// file in place, upload-capped) and N viewers (each our engine plus the daemon's HTTP server, in
// this process), all on 127.0.0.1. Viewers join a few seconds apart and read their stream over
// HTTP through a simulated player that consumes at a fixed rate with a small buffer; the harness
// reports per viewer the time to first frame, stalls, and bytes from the origin vs. from peers.
// Used by test/swarm.test.ts and bench/swarm.ts. Every engine, server and socket it starts, stop()
// stops.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { createLogger, type Logger, loadConfigText } from '@dream/config';
import type { FastifyInstance } from 'fastify';
import { buildDaemonServer } from '../src/daemon/server.js';
import { Engine } from '../src/engine/engine.js';
import { dialPeer } from '../src/swarm/connect.js';
import type { Peer } from '../src/swarm/peer.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { startTracker } from './peers/tracker.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export interface SwarmOptions {
  viewers: number;
  /** File size in bytes. */
  fileSize: number;
  pieceLength?: number;
  /** Origin upload cap, bytes/s (0 = none). */
  originUploadLimit: number;
  /** Media rate, bytes/s (the engine assumes 1 MiB/s for a file of unknown duration). */
  mediaBytesPerSecond?: number;
  /** Player speed: 2 = reads twice as fast as playback. */
  speed?: number;
  /** Seconds between two viewers joining. */
  joinGapSeconds?: number;
  /** stream.readahead_seconds of the viewers. */
  readaheadSeconds?: number;
  /** Player start: media seconds buffered before the first frame. */
  startBufferSeconds?: number;
  /** Player buffer cap, media seconds (beyond it the HTTP response is paused). */
  maxBufferSeconds?: number;
  /**
   * Stop the origin once the viewers together hold every piece (failover). The viewers then go on
   * from each other.
   */
  stopOriginWhenCovered?: boolean;
  /** Give up after this long (ms) in total. */
  timeoutMs?: number;
  log?: Logger;
  /**
   * Viewers that are another client (bench: peerflix, webtorrent): started instead of our engine.
   * A loopback tracker is then in the torrent, with the origin registered on it, so those viewers
   * find the origin and each other; their bytes from origin vs. peers are not known (NaN).
   */
  external?: (v: ExternalViewerContext) => Promise<ExternalViewer>;
}

export interface ExternalViewerContext {
  index: number;
  /** The .torrent (with the tracker's announce URL) and where it is written. */
  torrent: Buffer;
  torrentPath: string;
  infohash: string;
  origin: { host: string; port: number };
  trackerUrl: string;
  /** Makes the origin dial this TCP port on 127.0.0.1 (a complete torrent does not dial by itself). */
  originDial(port: number): Promise<void>;
  /** An empty directory for the client's data. */
  workDir: string;
}

export interface ExternalViewer {
  /** Where the player reads the file. */
  url: string;
  stop(): Promise<void>;
}

export interface ViewerReport {
  index: number;
  joinedAtMs: number;
  /** From joining to the first frame (start buffer filled). */
  firstFrameMs: number | undefined;
  stalls: number;
  stallMs: number;
  longestStallMs: number;
  /** Payload received from the origin / from other viewers. */
  fromOrigin: number;
  fromPeers: number;
  /** Bytes the player consumed, and the sha1 of the stream it read. */
  bytesRead: number;
  sha1: string | undefined;
  finished: boolean;
  error: string | undefined;
}

export interface SwarmReport {
  fileSize: number;
  viewers: ViewerReport[];
  /** Payload the origin uploaded. */
  originUploaded: number;
  /** originUploaded / (N x file size): copies of the file the origin sent, per viewer. */
  originShare: number;
  /** originUploaded / all payload the viewers received. */
  originShareOfDelivered: number;
  /** When the origin was stopped (failover), ms after the start; undefined when it was not. */
  originStoppedAtMs: number | undefined;
  fileSha1: string;
  seconds: number;
}

interface Node {
  engine?: Engine;
  external?: ExternalViewer;
  app?: FastifyInstance;
  baseUrl?: string;
}

const silent = createLogger({ name: 'swarm', level: 'silent' });

/** Counts payload by sender on every connection of `infohash` in `engine`, for its whole life. */
class ByPeer {
  readonly bytes = new Map<number, number>();
  private readonly hooked = new WeakSet<Peer>();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly engine: Engine,
    private readonly infohash: string,
  ) {
    // Peers are hooked as they appear (the 'peer-connected' event fires before the wire carries
    // payload: checked here often enough that no piece goes uncounted in practice).
    const hook = () => this.hookAll();
    engine.on('peer-connected', hook);
    this.timer = setInterval(hook, 20);
    this.timer.unref();
  }

  private hookAll(): void {
    const t = this.engine.torrent(this.infohash);
    if (!t) return;
    for (const p of t.peers.values()) {
      if (this.hooked.has(p)) continue;
      this.hooked.add(p);
      // Keyed by listen port: an incoming connection learns it from the BEP 10 handshake.
      p.wire.on('download', (n: number) => {
        const port = p.listen.port;
        this.bytes.set(port, (this.bytes.get(port) ?? 0) + n);
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A player: asks for the whole file, consumes at `rate` bytes/s once `startBytes` are buffered,
 * stalls when the buffer runs dry (resuming once `startBytes` more are there or the stream ends),
 * and pauses the HTTP response when more than `maxBytes` wait in its buffer.
 */
function play(
  url: string,
  o: { rate: number; startBytes: number; maxBytes: number; size: number; signal: AbortSignal },
): Promise<Omit<ViewerReport, 'index' | 'joinedAtMs' | 'fromOrigin' | 'fromPeers'>> {
  return new Promise((resolve) => {
    const started = Date.now();
    const hash = createHash('sha1');
    let received = 0;
    let consumed = 0;
    let ended = false;
    let playing = false;
    let firstFrameMs: number | undefined;
    let stallStart: number | undefined;
    let stalls = 0;
    let stallMs = 0;
    let longest = 0;
    let last = Date.now();
    let res: http.IncomingMessage | undefined;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      req.destroy();
      if (stallStart !== undefined) {
        const d = Date.now() - stallStart;
        stallMs += d;
        longest = Math.max(longest, d);
      }
      resolve({
        firstFrameMs,
        stalls,
        stallMs,
        longestStallMs: longest,
        bytesRead: received,
        sha1: ended ? hash.digest('hex') : undefined,
        finished: ended && consumed >= received,
        error,
      });
    };
    const tick = setInterval(() => {
      const now = Date.now();
      const dt = (now - last) / 1000;
      last = now;
      const buffered = received - consumed;
      if (!playing) {
        if (buffered >= o.startBytes || (ended && buffered > 0) || (ended && received >= o.size)) {
          playing = true;
          if (firstFrameMs === undefined) firstFrameMs = now - started;
          if (stallStart !== undefined) {
            const d = now - stallStart;
            stallMs += d;
            longest = Math.max(longest, d);
            stallStart = undefined;
          }
        }
      } else {
        consumed = Math.min(received, consumed + o.rate * dt);
        if (consumed >= received) {
          if (ended) return finish();
          playing = false;
          stalls++;
          stallStart = now;
        }
      }
      if (res?.isPaused() && received - consumed < o.maxBytes) res.resume();
    }, 20);
    tick.unref();
    o.signal.addEventListener('abort', () => finish('aborted'), { once: true });
    // Another client's server may listen only once it has the metadata: knock until it answers.
    let req: http.ClientRequest;
    const attempt = () => {
      req = http.get(url, { agent: false }, (r) => {
        // webtorrent answers 404 until it has the torrent's metadata: ask again, as a player would.
        if (r.statusCode === 404 && !done) {
          r.resume();
          setTimeout(attempt, 200).unref();
          return;
        }
        res = r;
        if (r.statusCode !== 200) return finish(`GET answered ${r.statusCode}`);
        r.on('data', (chunk: Buffer) => {
          received += chunk.length;
          hash.update(chunk);
          if (received - consumed >= o.maxBytes) r.pause();
        });
        r.on('end', () => {
          ended = true;
        });
        r.on('error', (err) => finish(err.message));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && !res && !done) setTimeout(attempt, 100).unref();
        else finish(err.message);
      });
    };
    attempt();
  });
}

async function sha1File(file: string): Promise<string> {
  const h = createHash('sha1');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Runs one swarm from start to the last viewer's end; everything is stopped before it returns. */
export async function runSwarm(o: SwarmOptions): Promise<SwarmReport> {
  const log = o.log ?? silent;
  const media = o.mediaBytesPerSecond ?? MiB;
  const speed = o.speed ?? 2;
  const pieceLength = o.pieceLength ?? 256 * KiB;
  const dir = await makeTempDir('dream-swarm-');
  const tracker = o.external ? await startTracker() : undefined;
  const nodes: Node[] = [];
  const counters: ByPeer[] = [];
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), o.timeoutMs ?? 300_000);
  deadline.unref();
  try {
    await makeFiles(join(dir, 'src'), [{ path: 'film.mp4', size: o.fileSize }], 11);
    const file = join(dir, 'src', 'film.mp4');
    const fileSha1 = await sha1File(file);
    const made = await makeTorrent({
      source: file,
      pieceLength,
      ...(tracker ? { trackers: [tracker.announceUrl] } : {}),
    });
    const torrentPath = join(dir, 'film.torrent');
    await writeFile(torrentPath, made.torrent);
    const infohash = made.infoHash;

    const origin = await Engine.start({
      outputDir: join(dir, 'origin-out'),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 200,
      log,
      trackers: false,
      uploadRateLimit: o.originUploadLimit,
    });
    nodes.push({ engine: origin });
    await origin.add({ torrent: Buffer.from(made.torrent), path: file });
    const originPort = origin.port;
    tracker?.addPeer(infohash, { ip: '127.0.0.1', port: originPort, left: 0 });

    const start = Date.now();
    let originStoppedAtMs: number | undefined;
    const viewers: Node[] = [];
    const runs: Promise<ViewerReport>[] = [];

    // Failover: stop the origin once the viewers together hold every piece.
    let watch: NodeJS.Timeout | undefined;
    if (o.stopOriginWhenCovered) {
      watch = setInterval(() => {
        if (viewers.length < o.viewers) return;
        const torrents = viewers.map((v) => v.engine?.torrent(infohash));
        const count = torrents[0]?.meta?.pieceCount;
        if (count === undefined) return;
        for (let i = 0; i < count; i++) if (!torrents.some((t) => t?.store?.have.get(i))) return;
        clearInterval(watch);
        originStoppedAtMs = Date.now() - start;
        void origin.stop();
      }, 100);
      watch.unref();
    }

    for (let i = 0; i < o.viewers; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, (o.joinGapSeconds ?? 3) * 1000));
      if (abort.signal.aborted) break;
      const vdir = join(dir, `viewer-${i}`);
      const index = i;
      const playOpts = {
        rate: media * speed,
        startBytes: media * (o.startBufferSeconds ?? 1),
        maxBytes: media * (o.maxBufferSeconds ?? 4),
        size: o.fileSize,
        signal: abort.signal,
      };
      if (o.external) {
        await mkdir(vdir, { recursive: true });
        const ext = await o.external({
          index,
          torrent: made.torrent,
          torrentPath,
          infohash,
          origin: { host: '127.0.0.1', port: originPort },
          trackerUrl: tracker?.announceUrl ?? '',
          // Never rejects: a dial the viewer refuses (or a viewer already gone) is no failure here.
          originDial: async (port) => {
            const t = origin.torrent(infohash);
            if (!t || originStoppedAtMs !== undefined) return;
            try {
              const h = await dialPeer(
                { host: '127.0.0.1', port },
                {
                  infohash,
                  peerId: origin.peerId,
                  pieceCount: t.meta?.pieceCount,
                  setup: (w) => t.setupWire(w),
                },
              );
              t.attach(h);
            } catch (err) {
              log.debug({ port, err: (err as Error).message }, 'origin could not dial a viewer');
            }
          },
          workDir: vdir,
        });
        nodes.push({ external: ext });
        viewers.push({ external: ext });
        const joinedAtMs = Date.now() - start;
        runs.push(
          play(ext.url, playOpts).then((r) => ({
            index,
            joinedAtMs,
            ...r,
            fromOrigin: Number.NaN,
            fromPeers: Number.NaN,
          })),
        );
        continue;
      }
      const toml = [
        '[general]',
        `output_dir = ${JSON.stringify(join(vdir, 'out'))}`,
        `state_dir = ${JSON.stringify(join(vdir, 'state'))}`,
        '[dht]',
        'enabled = false',
        '[stream]',
        'host = "127.0.0.1"',
        'port = 0',
        `readahead_seconds = ${o.readaheadSeconds ?? 10}`,
      ].join('\n');
      const { config } = loadConfigText(toml, join(vdir, 'dream.toml'));
      const engine = await Engine.start({
        outputDir: join(vdir, 'out'),
        host: '127.0.0.1',
        port: 0,
        maxConnections: 200,
        log,
        trackers: false,
      });
      const node: Node = { engine };
      nodes.push(node);
      const app = await buildDaemonServer(engine, { config, log });
      node.app = app;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
      node.baseUrl = `http://127.0.0.1:${address.port}`;
      const counter = new ByPeer(engine, infohash);
      counters.push(counter);
      // Peers "from the tracker": the origin (while it runs) and every viewer already there.
      const peers = [
        ...(originStoppedAtMs === undefined ? [{ host: '127.0.0.1', port: originPort }] : []),
        ...viewers.flatMap((v) => (v.engine ? [{ host: '127.0.0.1', port: v.engine.port }] : [])),
      ];
      viewers.push(node);
      await engine.add({ infohash }, { peers });
      const joinedAtMs = Date.now() - start;
      runs.push(
        play(`${node.baseUrl}/stream/${infohash}/0`, playOpts).then((r) => {
          let fromOrigin = 0;
          let fromPeers = 0;
          for (const [port, n] of counter.bytes) {
            if (port === originPort) fromOrigin += n;
            else fromPeers += n;
          }
          return { index, joinedAtMs, ...r, fromOrigin, fromPeers };
        }),
      );
    }
    const reports = await Promise.all(runs);
    clearInterval(watch);
    const originUploaded = origin.torrent(infohash)?.uploaded ?? 0;
    let delivered = 0;
    for (const r of reports)
      delivered += Number.isNaN(r.fromOrigin) ? r.bytesRead : r.fromOrigin + r.fromPeers;
    return {
      fileSize: o.fileSize,
      viewers: reports,
      originUploaded,
      originShare: originUploaded / (o.viewers * o.fileSize),
      originShareOfDelivered: delivered > 0 ? originUploaded / delivered : 0,
      originStoppedAtMs,
      fileSha1,
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    clearTimeout(deadline);
    for (const c of counters) c.stop();
    for (const n of nodes) {
      n.app?.server.closeAllConnections();
      await n.app?.close().catch(() => {});
    }
    await Promise.all(nodes.map((n) => n.engine?.stop().catch(() => {})));
    await Promise.all(nodes.map((n) => n.external?.stop().catch(() => {})));
    await tracker?.stop().catch(() => {});
    await removeDir(dir);
  }
}

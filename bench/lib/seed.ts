// The swarm every client streams from: one libtorrent seeder (python3-libtorrent, from the interop
// harness) with an upload cap that applies to loopback peers, and a loopback tracker announcing it,
// for clients that cannot be given a peer address.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { makeTorrent } from '../../packages/torrent-engine/test/peers/fixtures.js';
import { type LibtorrentPeer, startLibtorrent } from '../../packages/torrent-engine/test/peers/libtorrent.js';
import { startTracker } from '../../packages/torrent-engine/test/peers/tracker.js';
import { infoHashOf } from './infohash.js';

export interface BenchTorrent {
  /** The file seeded, its size and its name (= its path inside the single-file torrent). */
  videoPath: string;
  size: number;
  name: string;
  torrentPath: string;
  torrent: Buffer;
  infoHash: string;
  pieceLength: number;
  /** Made by libtorrent as v1+v2 (its default and qBittorrent's) rather than by create-torrent. */
  hybrid: boolean;
}

/**
 * A plain v1 single-file .torrent of `videoPath` (create-torrent, as WebTorrent makes them, no
 * trackers inside), cached beside the video as `<video>.torrent` since hashing 200 MiB takes seconds.
 */
export async function torrentOf(
  videoPath: string,
  size: number,
  pieceLength = 1024 * 1024,
  hybrid = false,
): Promise<BenchTorrent> {
  const torrentPath = `${videoPath}.${pieceLength}${hybrid ? '.hybrid' : ''}.torrent`;
  let torrent: Buffer;
  if (existsSync(torrentPath)) torrent = await readFile(torrentPath);
  else {
    const flavour = hybrid ? 'libtorrent-hybrid' : 'create-torrent';
    // create-torrent hands back a Uint8Array in some versions: make it a Buffer.
    torrent = Buffer.from((await makeTorrent({ source: videoPath, pieceLength, flavour })).torrent);
    await writeFile(torrentPath, torrent);
  }
  return {
    videoPath,
    size,
    name: basename(videoPath),
    torrentPath,
    torrent,
    infoHash: infoHashOf(torrent),
    pieceLength,
    hybrid,
  };
}

export interface Swarm {
  seeder: LibtorrentPeer;
  trackerUrl: string;
  /** Total payload bytes the seeder has uploaded so far (to every peer). */
  uploaded(): Promise<number>;
  setUploadLimit(bytesPerSecond: number): void;
  /**
   * Make the seeder connect to a client's port on 127.0.0.1, again if the client drops the connection
   * within a second (it may not know the torrent yet when it starts listening), up to `attempts` times.
   */
  dial(port: number, attempts?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Events at or after index `from` of `events`, for `port`, of one of `kinds`. */
function since(events: { event: string; port?: unknown }[], from: number, port: number, kinds: string[]) {
  return events.slice(from).filter((e) => e.port === port && kinds.includes(e.event));
}

/**
 * libtorrent's tick for the seeder, ms: DREAM_BENCH_SEEDER_TICK_MS, default libtorrent's own 500. Its
 * upload cap hands out quota once per tick, so a capped seeder sends in bursts of this period.
 */
export const SEEDER_TICK_MS = Number(process.env.DREAM_BENCH_SEEDER_TICK_MS ?? 500);

/**
 * Start the seeder and a tracker that lists it. For a v1 torrent the seeder trusts the data (it is
 * the file we just hashed); for a hybrid one it hashes the file first, as a real seeder has: in seed
 * mode libtorrent answers BEP 52 hash requests with rejects.
 */
export async function startSwarm(t: BenchTorrent, uploadLimit: number): Promise<Swarm> {
  const seeder = await startLibtorrent({
    savePath: dirname(t.videoPath),
    torrent: t.torrent,
    seedMode: !t.hybrid,
    uploadLimit,
    tickIntervalMs: SEEDER_TICK_MS,
    // Plain TCP: webtorrent and peerflix do not speak MSE, and a seeder trying it first would cost
    // them a reconnect.
    encryption: 'disabled',
  });
  try {
    await seeder.waitFinished(60_000);
    const tracker = await startTracker();
    tracker.addPeer(t.infoHash, { ip: '127.0.0.1', port: seeder.port, left: 0 });
    return {
      seeder,
      trackerUrl: tracker.announceUrl,
      uploaded: async () => (await seeder.stats()).uploaded,
      setUploadLimit: (limit) => seeder.setUploadLimit(limit),
      async dial(port, attempts = 10) {
        for (let i = 0; i < attempts; i++) {
          const mark = seeder.events.length;
          seeder.connect(port);
          await new Promise((r) => setTimeout(r, 1_000));
          const seen = since(seeder.events as { event: string; port?: unknown }[], mark, port, [
            'peer_connected',
            'peer_disconnected',
          ]);
          if (seen.length > 0 && seen[seen.length - 1]!.event === 'peer_connected') return;
        }
      },
      async stop() {
        await seeder.stop();
        await tracker.stop();
      },
    };
  } catch (err) {
    await seeder.stop();
    throw err;
  }
}

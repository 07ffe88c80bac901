// A libtorrent 2.x peer (Debian's python3-libtorrent) as a seeder or leecher on loopback.
// The python side (libtorrent_peer.py) prints JSON events; this module spawns it and waits on them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Child } from './child.js';
import { makeTempDir, PEERS_DIR, removeDir, SYSTEM_PYTHON } from './fixtures.js';

export interface LibtorrentOptions {
  /** Folder holding (seeder) or receiving (leecher) the torrent's root file or folder. */
  savePath: string;
  /** The .torrent: its bytes, or a path. Give this or `magnet`. */
  torrent?: Uint8Array | string;
  /** A magnet URI: libtorrent then fetches the metadata from its peers (BEP 9). */
  magnet?: string;
  /** Trust the data without hashing it first (faster start for big seeds). Default false. */
  seedMode?: boolean;
  /** Upload cap in bytes/s, applied to loopback peers too. Default unlimited. */
  uploadLimit?: number;
  downloadLimit?: number;
  /**
   * libtorrent's tick in ms (default 500). Its rate limits hand out quota once per tick, so a capped
   * seeder sends in bursts of this period; a shorter tick behaves more like a real link of that rate.
   */
  tickIntervalMs?: number;
  /** Ports (on 127.0.0.1) or endpoints to connect to once the torrent is added. */
  peers?: (number | { host: string; port: number })[];
  /** Peer-wire encryption (MSE). Default 'enabled': libtorrent's default, tries MSE then plain. */
  encryption?: 'enabled' | 'disabled' | 'forced';
  /** Enable the DHT, bootstrapping from these loopback nodes only. Default: no DHT. */
  dht?: { bootstrap: { host: string; port: number }[] };
  /** Extra announce URLs (besides the torrent's). */
  trackers?: string[];
  /** How long to wait for the listening port. Default 30 s. */
  startTimeoutMs?: number;
}

/** Torrent status as libtorrent reports it (payload bytes, rates in bytes/s). */
export interface LibtorrentStats {
  progress: number;
  state: string;
  is_seeding: boolean;
  is_finished: boolean;
  has_metadata: boolean;
  uploaded: number;
  downloaded: number;
  total_done: number;
  total_wanted: number;
  upload_rate: number;
  download_rate: number;
  peers: number;
  num_pieces: number;
  failed_bytes: number;
  redundant_bytes: number;
}

/** One JSON line from libtorrent_peer.py; `event` says which (see the python file's docstring). */
export type LibtorrentEvent = { event: string; [key: string]: unknown };

export interface LibtorrentPeer {
  /** TCP port it listens on, 127.0.0.1. */
  port: number;
  /** UDP port (same address) where its DHT node answers when `dht` is set; undefined otherwise. */
  dhtPort: number | undefined;
  pid: number;
  /** v1 info-hash, hex (all zeros until known for a magnet of a v2-only torrent). */
  infoHash: string;
  /** Every event so far, oldest first. */
  events: LibtorrentEvent[];
  /** The latest progress/finished/stats line. */
  lastStats(): LibtorrentStats | undefined;
  /** First event (past or future) matching `predicate`. */
  waitForEvent(predicate: (e: LibtorrentEvent) => boolean, timeoutMs?: number): Promise<LibtorrentEvent>;
  /** Resolve when all wanted data is downloaded and verified (at once for a complete seeder). */
  waitFinished(timeoutMs?: number): Promise<LibtorrentStats>;
  /** Fresh stats from the process. */
  stats(timeoutMs?: number): Promise<LibtorrentStats>;
  /** Connect to a peer (127.0.0.1 unless `host`). */
  connect(port: number, host?: string): void;
  setUploadLimit(bytesPerSecond: number): void;
  /** Kill the process (SIGTERM, then SIGKILL) and remove temp files; returns the final stats. */
  stop(): Promise<LibtorrentStats | undefined>;
}

const STATS_EVENTS = new Set(['progress', 'finished', 'stats']);

/** Start a libtorrent peer and wait until it listens. */
export async function startLibtorrent(options: LibtorrentOptions): Promise<LibtorrentPeer> {
  if (!options.torrent && !options.magnet) throw new Error('startLibtorrent: give torrent or magnet');
  const temp = await makeTempDir('dream-lt-');
  let torrentPath: string | undefined;
  if (typeof options.torrent === 'string') torrentPath = options.torrent;
  else if (options.torrent) {
    torrentPath = join(temp, 'peer.torrent');
    await writeFile(torrentPath, options.torrent);
  }
  const args = {
    torrent: torrentPath,
    magnet: torrentPath ? undefined : options.magnet,
    save_path: options.savePath,
    seed_mode: options.seedMode ?? false,
    upload_limit: options.uploadLimit ?? 0,
    download_limit: options.downloadLimit ?? 0,
    tick_interval: options.tickIntervalMs ?? 500,
    peers: (options.peers ?? []).map((p) => (typeof p === 'number' ? ['127.0.0.1', p] : [p.host, p.port])),
    encryption: options.encryption ?? 'enabled',
    dht: options.dht !== undefined,
    dht_bootstrap: (options.dht?.bootstrap ?? []).map((n) => [n.host, n.port]),
    trackers: options.trackers ?? [],
  };
  const events: LibtorrentEvent[] = [];
  let last: LibtorrentStats | undefined;
  const child = new Child(SYSTEM_PYTHON, [join(PEERS_DIR, 'libtorrent_peer.py'), JSON.stringify(args)], {
    label: 'libtorrent peer',
    onLine(line) {
      let parsed: LibtorrentEvent;
      try {
        parsed = JSON.parse(line) as LibtorrentEvent;
      } catch {
        return; // not ours (a libtorrent warning on stdout)
      }
      events.push(parsed);
      if (STATS_EVENTS.has(parsed.event)) last = parsed as unknown as LibtorrentStats;
    },
  });

  const waitForEvent = (predicate: (e: LibtorrentEvent) => boolean, timeoutMs = 60_000) => {
    const found = events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise<LibtorrentEvent>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        child.off('line', onLine);
        child.off('exit', onExit);
      };
      const onLine = () => {
        const event = events[events.length - 1];
        if (event && predicate(event)) {
          cleanup();
          resolve(event);
        }
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`libtorrent peer exited before the awaited event\n${child.describe()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`libtorrent peer: awaited event not seen in ${timeoutMs} ms\n${child.describe()}`));
      }, timeoutMs);
      child.on('line', onLine);
      child.on('exit', onExit);
    });
  };

  const cleanup = async () => {
    await child.stop();
    await removeDir(temp);
  };
  try {
    const listening = await waitForEvent((e) => e.event === 'listening', options.startTimeoutMs ?? 30_000);
    const added = await waitForEvent((e) => e.event === 'added', 10_000);
    const udp = options.dht ? await waitForEvent((e) => e.event === 'listening_udp', 10_000) : undefined;
    return {
      port: listening.port as number,
      dhtPort: udp?.port as number | undefined,
      pid: child.pid!,
      infoHash: added.info_hash as string,
      events,
      lastStats: () => last,
      waitForEvent,
      async waitFinished(timeoutMs = 60_000) {
        const finished = await waitForEvent((e) => e.event === 'finished', timeoutMs);
        return finished as unknown as LibtorrentStats;
      },
      async stats(timeoutMs = 10_000) {
        const before = events.length;
        const reply = waitForEvent((e) => e.event === 'stats' && events.indexOf(e) >= before, timeoutMs);
        child.writeLine(JSON.stringify({ cmd: 'stats' }));
        return (await reply) as unknown as LibtorrentStats;
      },
      connect(port, host = '127.0.0.1') {
        child.writeLine(JSON.stringify({ cmd: 'connect', host, port }));
      },
      setUploadLimit(bytesPerSecond) {
        child.writeLine(JSON.stringify({ cmd: 'upload_limit', value: bytesPerSecond }));
      },
      async stop() {
        await cleanup();
        return last;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

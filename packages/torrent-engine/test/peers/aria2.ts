// aria2 (aria2c 1.36) as a leecher or seeder on loopback, driven through its JSON-RPC.
//
// aria2 has no "connect to this peer" switch for a .torrent (and x.pe in magnets is not honoured),
// so it meets its peers through a tracker: pass `tracker` (tracker.ts's announceUrl) and make sure
// the other side announces there or is pre-registered with tracker.addPeer().
import { Child, freePort } from './child.js';
import { makeTempDir, removeDir } from './fixtures.js';

export interface Aria2Options {
  /** The .torrent's bytes. */
  torrent: Uint8Array;
  /** Folder holding (seeder) or receiving (leecher) the torrent's root file/folder. */
  dir: string;
  /** 'leech' stops seeding as soon as the download completes (--seed-time=0); 'seed' seeds on. */
  mode: 'leech' | 'seed';
  /** Announce URL to add to the torrent's own (--bt-tracker). */
  tracker?: string;
  /** Upload cap, bytes/s. Default unlimited. */
  uploadLimit?: number;
  /** Re-announce interval asked of aria2, seconds (--bt-tracker-interval). Default: the tracker's. */
  trackerIntervalSeconds?: number;
}

/** A subset of aria2.tellStatus, numbers parsed. */
export interface Aria2Stats {
  status: 'active' | 'waiting' | 'paused' | 'error' | 'complete' | 'removed';
  totalLength: number;
  completedLength: number;
  uploadLength: number;
  downloadSpeed: number;
  uploadSpeed: number;
  connections: number;
  /** aria2 reports 'true' once it has every piece (seeding). */
  seeder: boolean;
  errorCode?: string;
  errorMessage?: string;
}

export interface Aria2Peer {
  /** BitTorrent listen port on 127.0.0.1. */
  port: number;
  pid: number;
  stats(): Promise<Aria2Stats>;
  /** Leecher: resolve when the download completed and verified; seeder: when it is seeding. */
  waitReady(timeoutMs?: number): Promise<Aria2Stats>;
  /** Kill the process and remove its temp files; returns the last stats seen (if any). */
  stop(): Promise<Aria2Stats | undefined>;
}

/** Poll period for tellStatus: cheap on loopback, fine-grained enough for tests. */
const POLL_MS = 200;

export async function startAria2(options: Aria2Options): Promise<Aria2Peer> {
  const temp = await makeTempDir('dream-aria2-');
  const btPort = await freePort();
  const rpcPort = await freePort();
  const args = [
    '--enable-rpc=true',
    `--rpc-listen-port=${rpcPort}`,
    '--rpc-listen-all=false',
    `--listen-port=${btPort}`,
    // Nothing leaves loopback: no DHT, no LPD, no PEX.
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--bt-external-ip=127.0.0.1',
    '--disable-ipv6=true',
    '--check-integrity=true',
    '--bt-hash-check-seed=true',
    '--bt-seed-unverified=false',
    '--bt-save-metadata=false',
    // Else aria2 writes the RPC-uploaded .torrent into the download folder.
    '--rpc-save-upload-metadata=false',
    '--file-allocation=none',
    '--auto-save-interval=0',
    '--save-session-interval=0',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--no-conf=true',
    // aria2 retries a silent peer slowly by default; loopback peers answer at once.
    '--bt-tracker-connect-timeout=5',
    '--bt-tracker-timeout=5',
    `--dht-file-path=${temp}/dht.dat`,
    `--log=${temp}/aria2.log`,
    '--log-level=info',
  ];
  if (options.uploadLimit) args.push(`--max-overall-upload-limit=${options.uploadLimit}`);
  const child = new Child('aria2c', args, { label: 'aria2', cwd: temp });
  let last: Aria2Stats | undefined;

  const rpc = async (method: string, params: unknown[]): Promise<unknown> => {
    const response = await fetch(`http://127.0.0.1:${rpcPort}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: '1', method, params }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`aria2 ${method}: ${body.error.message}`);
    return body.result;
  };

  const cleanup = async () => {
    await child.stop();
    await removeDir(temp);
  };

  try {
    // Wait for the RPC server: aria2 prints nothing when it is up, so poll it.
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!child.running) throw new Error(`aria2 exited at start\n${child.describe()}`);
      try {
        await rpc('aria2.getVersion', []);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`aria2 RPC not up in 15 s: ${err}\n${child.describe()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const perDownload: Record<string, string> = {
      dir: options.dir,
      // leech: quit seeding at once; seed: ratio 0.0 means "seed whatever the ratio".
      'seed-time': options.mode === 'leech' ? '0' : '100000',
      'seed-ratio': '0.0',
    };
    if (options.tracker) perDownload['bt-tracker'] = options.tracker;
    if (options.trackerIntervalSeconds) {
      perDownload['bt-tracker-interval'] = String(options.trackerIntervalSeconds);
    }
    const gid = (await rpc('aria2.addTorrent', [
      Buffer.from(options.torrent).toString('base64'),
      [],
      perDownload,
    ])) as string;

    const stats = async (): Promise<Aria2Stats> => {
      const raw = (await rpc('aria2.tellStatus', [gid])) as Record<string, string>;
      last = {
        status: raw.status as Aria2Stats['status'],
        totalLength: Number(raw.totalLength),
        completedLength: Number(raw.completedLength),
        uploadLength: Number(raw.uploadLength),
        downloadSpeed: Number(raw.downloadSpeed),
        uploadSpeed: Number(raw.uploadSpeed),
        connections: Number(raw.connections),
        seeder: raw.seeder === 'true',
        errorCode: raw.errorCode,
        errorMessage: raw.errorMessage,
      };
      return last;
    };

    return {
      port: btPort,
      pid: child.pid!,
      stats,
      async waitReady(timeoutMs = 60_000) {
        const end = Date.now() + timeoutMs;
        for (;;) {
          if (!child.running) throw new Error(`aria2 exited\n${child.describe()}`);
          const s = await stats();
          if (s.status === 'error' || s.status === 'removed') {
            throw new Error(`aria2 download failed: ${s.errorCode} ${s.errorMessage}`);
          }
          const ready =
            options.mode === 'leech'
              ? s.status === 'complete'
              : s.status === 'active' && s.seeder && s.completedLength === s.totalLength;
          if (ready) return s;
          if (Date.now() > end) {
            throw new Error(
              `aria2: not ${options.mode === 'leech' ? 'complete' : 'seeding'} in ${timeoutMs} ms; ${JSON.stringify(s)}`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      },
      async stop() {
        if (child.running) await stats().catch(() => undefined);
        await cleanup();
        return last;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

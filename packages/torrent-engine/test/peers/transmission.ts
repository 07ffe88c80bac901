// Transmission (transmission-cli 3.00) as a seeder or leecher on loopback.
//
// Two facts shape how a test uses it:
// - Transmission 3 never DIALS a loopback address: it treats 127.0.0.0/8 and ::1 as "martian"
//   (tr_address_is_valid_for_peers), so peers it learns from a tracker or PEX on loopback are
//   dropped. It ACCEPTS connections from loopback, so the other side must connect to it:
//   give other peers `port` (libtorrent: `connect(port)`; our engine: add it as a peer).
// - It unchokes a new peer only at its next rechoke (every 10 s), so the first bytes take up to
//   ~10-14 s to flow: allow for it in timeouts.
// transmission-cli has no RPC and transmission-remote 3.00 cannot add a peer address, hence the
// above. Its config folder lives in a temp dir, with DHT, LPD, PEX, uTP and port mapping off.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Child, freePort, waitForListening } from './child.js';
import { makeTempDir, removeDir } from './fixtures.js';

export interface TransmissionOptions {
  /** The .torrent's bytes. */
  torrent: Uint8Array;
  /** Folder holding (seeder) or receiving (leecher) the torrent's root file/folder. */
  dir: string;
  /** Upload cap in KiB/s (Transmission's unit). Default unlimited. */
  uploadLimitKiBps?: number;
  /** Peer-wire encryption: 'tolerated', 'preferred' (Transmission's default) or 'required'. */
  encryption?: 'tolerated' | 'preferred' | 'required';
}

export interface TransmissionStatus {
  /** 'verifying' (checking local data), 'downloading', 'seeding', or 'starting' before any line. */
  phase: 'starting' | 'verifying' | 'downloading' | 'seeding';
  /** Percent done while downloading (0..100); 100 when seeding. */
  percent: number;
  /** The raw status line transmission-cli printed last. */
  line: string;
}

export interface TransmissionPeer {
  /** Peer port on 127.0.0.1. */
  port: number;
  pid: number;
  status(): TransmissionStatus;
  /** Resolve once Transmission has all the data verified and seeds (seeder or finished leecher). */
  waitSeeding(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const ENCRYPTION = { tolerated: 0, preferred: 1, required: 2 } as const;

export async function startTransmission(options: TransmissionOptions): Promise<TransmissionPeer> {
  const temp = await makeTempDir('dream-transmission-');
  const port = await freePort();
  const configDir = join(temp, 'config');
  const torrentPath = join(temp, 'peer.torrent');
  await writeFile(torrentPath, options.torrent);
  await mkdir(configDir);
  const settings = {
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'peer-port': port,
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': false,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    // uTP between loopback peers is slow, and libtorrent/aria2 peers here speak TCP.
    'utp-enabled': false,
    'rpc-enabled': false,
    'blocklist-enabled': false,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'download-dir': options.dir,
    'incomplete-dir-enabled': false,
    'start-added-torrents': true,
    'watch-dir-enabled': false,
    encryption: ENCRYPTION[options.encryption ?? 'preferred'],
    'speed-limit-up-enabled': options.uploadLimitKiBps !== undefined,
    'speed-limit-up': options.uploadLimitKiBps ?? 100,
    // 2 = info; set DREAM_TRANSMISSION_LOG_LEVEL=3 for debug logs (they show in error messages).
    'message-level': Number(process.env.DREAM_TRANSMISSION_LOG_LEVEL ?? 2),
  };
  await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2));

  let status: TransmissionStatus = { phase: 'starting', percent: 0, line: '' };
  const listeners = new Set<() => void>();
  // transmission-cli rewrites one status line with '\r' and only flushes it to a terminal:
  // stdbuf -o0 unbuffers stdout, and we split on '\r' ourselves.
  const child = new Child(
    'stdbuf',
    ['-o0', 'transmission-cli', '-g', configDir, '-w', options.dir, '-p', String(port), torrentPath],
    {
      label: 'transmission-cli',
      cwd: temp,
    },
  );
  child.process.stdout?.on('data', (chunk: Buffer) => {
    for (const raw of chunk.toString('utf8').split(/[\r\n]+/)) {
      const line = raw.trim();
      if (line === '') continue;
      const next = parseStatus(line);
      if (!next) continue;
      status = next;
      for (const listener of listeners) listener();
    }
  });

  const cleanup = async () => {
    await child.stop();
    await removeDir(temp);
  };
  try {
    await waitForListening(port, 15_000);
  } catch (err) {
    await cleanup();
    throw new Error(`transmission-cli did not listen on ${port}: ${err}\n${child.describe()}`);
  }

  return {
    port,
    pid: child.pid!,
    status: () => status,
    waitSeeding(timeoutMs = 60_000) {
      if (status.phase === 'seeding') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve();
        };
        const check = () => {
          if (status.phase === 'seeding') done();
        };
        const onExit = () => done(new Error(`transmission-cli exited before seeding\n${child.describe()}`));
        const timer = setTimeout(
          () =>
            done(
              new Error(
                `transmission-cli: not seeding in ${timeoutMs} ms; last: ${status.line}\n${child.describe()}`,
              ),
            ),
          timeoutMs,
        );
        listeners.add(check);
        child.on('exit', onExit);
      });
    },
    stop: cleanup,
  };
}

/** Read transmission-cli 3.00's status line (see getStatusStr in its cli.c). */
export function parseStatus(line: string): TransmissionStatus | undefined {
  if (line.startsWith('Seeding')) return { phase: 'seeding', percent: 100, line };
  const verifying = /^Verifying local files \(([\d.]+)%/.exec(line);
  if (verifying) return { phase: 'verifying', percent: Number(verifying[1]), line };
  const progress = /^Progress: ([\d.]+)%/.exec(line);
  if (progress) return { phase: 'downloading', percent: Number(progress[1]), line };
  return undefined;
}

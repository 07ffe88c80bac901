/**
 * Against a real tracker: opentracker from Debian (scripts/debian-packages.txt), on 127.0.0.1, over
 * HTTP and UDP. Debian builds it in whitelist mode, so the test writes a whitelist with its infohash.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnnounceRequest, hexToBytes } from '../src/sources/announce.js';
import { httpAnnounce } from '../src/sources/http-tracker.js';
import { randomPeerId } from '../src/sources/identity.js';
import { TrackerTierSource } from '../src/sources/tracker-source.js';
import type { PeerAddress } from '../src/sources/types.js';
import { udpAnnounce } from '../src/sources/udp-tracker.js';
import { captureLog, waitFor } from './sources-tracker-server.js';

const OPENTRACKER = '/usr/bin/opentracker';
const available = existsSync(OPENTRACKER);
if (!available)
  console.warn(`sources-opentracker: skipped, ${OPENTRACKER} missing (apt-get install opentracker)`);

const ALLOWED = 'c9e15763f722f23e98a29decdfae341b98d53056';
const OTHER = '0123456789abcdef0123456789abcdef01234567';

/** A port free for both TCP and UDP right now (opentracker binds both). */
async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) return port;
  }
}

function request(infohash: string, port: number, extra: Partial<AnnounceRequest> = {}): AnnounceRequest {
  return {
    infohash: hexToBytes(infohash),
    peerId: randomPeerId(),
    port,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    numwant: 50,
    key: 7,
    event: 'started',
    ...extra,
  };
}

const has = (peers: PeerAddress[], port: number) =>
  peers.some((p) => p.host === '127.0.0.1' && p.port === port);

describe.skipIf(!available)('real tracker: opentracker', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dream-opentracker-'));
    writeFileSync(join(dir, 'whitelist.txt'), `${ALLOWED}\n`);
    // opentracker chroots into -d and, when root, drops to -u: both must be able to read the whitelist.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'whitelist.txt'), 0o644);
    port = await freePort();
    const args = [
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-P',
      String(port),
      '-d',
      dir,
      '-w',
      'whitelist.txt',
    ];
    if (process.getuid?.() === 0) args.push('-u', 'nobody');
    child = spawn(OPENTRACKER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    // Ready when it answers over HTTP (refusals count as answers).
    const ready = async () => {
      for (let i = 0; i < 200; i++) {
        if (child.exitCode !== null) throw new Error(`opentracker exited ${child.exitCode}: ${stderr}`);
        const r = await httpAnnounce(`http://127.0.0.1:${port}/announce`, request(OTHER, 1)).catch((e) => e);
        if (r?.code !== 'TRACKER_NETWORK') return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`opentracker did not come up: ${stderr}`);
    };
    await ready();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((res) => child.once('exit', res));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP: announces, gets the other peers and the interval', async () => {
    const url = `http://127.0.0.1:${port}/announce`;
    await httpAnnounce(url, request(ALLOWED, 7001));
    const res = await httpAnnounce(url, request(ALLOWED, 7002));
    expect(has(res.peers, 7001)).toBe(true);
    expect(res.interval).toBeGreaterThan(60);
    expect(res.minInterval).toBeGreaterThan(0);
  });

  it('UDP: announces, gets the peers announced over HTTP too', async () => {
    // With a path, so the BEP 41 options are sent: opentracker must ignore them.
    const res = await udpAnnounce(`udp://127.0.0.1:${port}/announce`, request(ALLOWED, 7003), {
      timeoutMs: 20_000,
    });
    expect(has(res.peers, 7001)).toBe(true);
    expect(res.interval).toBeGreaterThan(60);
    expect(res.complete! + res.incomplete!).toBeGreaterThanOrEqual(2);
  });

  it('refuses an infohash not on its whitelist, over both transports, with its reason', async () => {
    await expect(
      httpAnnounce(`http://127.0.0.1:${port}/announce`, request(OTHER, 7004)),
    ).rejects.toMatchObject({
      code: 'TRACKER_FAILURE',
      message: expect.stringContaining('not authorized'),
    });
    // opentracker answers a refused UDP announce with an 8-byte announce reply (no interval, no peers).
    await expect(
      udpAnnounce(`udp://127.0.0.1:${port}`, request(OTHER, 7004), { timeoutMs: 20_000 }),
    ).rejects.toMatchObject({
      code: 'TRACKER_FAILURE',
      message: expect.stringContaining('not tracked'),
    });
  });

  it('a tier source announces, delivers peers, and its event=stopped removes us from the swarm', async () => {
    const log = captureLog();
    const found: PeerAddress[] = [];
    const source = new TrackerTierSource([`udp://127.0.0.1:${port}`, `http://127.0.0.1:${port}/announce`]);
    source.start({
      infohash: ALLOWED,
      port: 7010,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
      onPeers: (peers) => found.push(...peers),
      log: log.log,
    });
    await waitFor(() => found.length > 0);
    expect(has(found, 7001)).toBe(true);
    const before = await httpAnnounce(`http://127.0.0.1:${port}/announce`, request(ALLOWED, 7011));
    expect(has(before.peers, 7010)).toBe(true);
    await source.stop();
    const after = await httpAnnounce(`http://127.0.0.1:${port}/announce`, request(ALLOWED, 7012));
    expect(has(after.peers, 7010)).toBe(false);
    expect(log.warnings()).toEqual([]);
  });
});

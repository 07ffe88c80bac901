// The engine in a swarm: two of our engines meet through dream-dht alone (no tracker, no peer
// given), and hostile peers (H's hostile-peer.ts) are banned while the download completes correct.
import { join } from 'node:path';
import { createLogger, loadConfigText } from '@dream/config';
import { DhtClient, type DhtDaemon, startDhtDaemon } from '@dream/dht';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { startHostilePeer } from './peers/hostile-peer.js';
import { startLibtorrent } from './peers/libtorrent.js';

const log = createLogger({ name: 'swarm-test', level: 'silent' });
let dir: string;
const engines: Engine[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

async function engine(name: string, dht?: DhtClient): Promise<Engine> {
  const e = await Engine.start({
    outputDir: join(dir, `${name}-out`),
    resumeDir: join(dir, `${name}-state`),
    host: '127.0.0.1',
    port: 0,
    maxConnections: 50,
    log,
    trackers: false,
    dht,
  });
  engines.push(e);
  return e;
}

function event(e: Engine, name: 'done' | 'metadata', infohash: string): Promise<void> {
  return new Promise((resolve) => {
    const l = (ih: string) => {
      if (ih === infohash) {
        e.off(name, l);
        resolve();
      }
    };
    e.on(name, l);
  });
}

async function dhtNode(name: string, bootstrap: string[]): Promise<DhtDaemon> {
  const state = join(dir, `dht-${name}`);
  const text = [
    '[general]',
    `state_dir = ${JSON.stringify(state)}`,
    `output_dir = ${JSON.stringify(state)}`,
    '[network]',
    `bootstrap_nodes = ${JSON.stringify(bootstrap)}`,
    'private = true',
    '[dht]',
    'host = "127.0.0.1"',
    'port = 0',
    'api_port = 0',
  ].join('\n');
  const d = await startDhtDaemon(loadConfigText(text, join(state, 'config.toml'), {}).config, log);
  cleanups.push(() => d.close());
  return d;
}

beforeAll(async () => {
  dir = await makeTempDir('dream-swarm-');
  await makeFiles(join(dir, 'src'), [
    { path: 'film/film.mkv', size: 3 * 1024 * 1024 + 99 },
    { path: 'film/film.nfo', size: 777 },
  ]);
});

afterAll(async () => {
  for (const e of engines) await e.stop();
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await removeDir(dir);
});

describe('engine in a swarm', () => {
  it('two engines find each other through dream-dht alone and transfer (magnet, no tracker, no peer)', async () => {
    const boot = await dhtNode('boot', []);
    const a = await dhtNode('a', [`127.0.0.1:${boot.udpPort}`]);
    const b = await dhtNode('b', [`127.0.0.1:${boot.udpPort}`]);
    const clientA = new DhtClient({ apiUrl: `http://127.0.0.1:${a.apiPort}` });
    const clientB = new DhtClient({ apiUrl: `http://127.0.0.1:${b.apiPort}` });
    const seeder = await engine('dht-seed', clientA);
    const added = await seeder.add({ path: join(dir, 'src', 'film') });
    // The seeder registers its announce with its DHT daemon at once.
    for (let i = 0; i < 100 && !(await clientA.announces()).some((x) => x.infohash === added.infohash); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const leecher = await engine('dht-leech', clientB);
    const connected: string[] = [];
    leecher.on('peer-connected', (_ih, p) => connected.push(p.address));
    const done = event(leecher, 'done', added.infohash);
    const l = await leecher.add({ magnet: `magnet:?xt=urn:btih:${added.infohash}` });
    expect(l.state).toBe('metadata');
    await done;
    await assertSameTree(join(dir, 'src', 'film'), join(dir, 'dht-leech-out', 'film'));
    expect(connected).toContain(`127.0.0.1:${seeder.port}`);
  }, 120_000);

  it('bans a peer that sends corrupt blocks; the download completes correct from the others', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'film'), pieceLength: 32 * 1024 });
    const honest = await startLibtorrent({
      savePath: join(dir, 'src'),
      torrent: made.torrent,
      uploadLimit: 1024 * 1024,
    });
    cleanups.push(() => honest.stop());
    const bad = await startHostilePeer({
      torrent: made.torrent,
      dir: join(dir, 'src'),
      corrupt: { probability: 0.5, seed: 7 },
    });
    cleanups.push(() => bad.stop());
    await honest.waitFinished(60_000);
    const us = await engine('hostile');
    const banned: string[] = [];
    us.on('peer-banned', (_ih, b) => banned.push(b.address));
    const failures: number[] = [];
    us.on('hash-failure', (_ih, i) => failures.push(i));
    const done = event(us, 'done', made.infoHash);
    await us.add(
      { torrent: made.torrent },
      {
        peers: [
          { host: '127.0.0.1', port: bad.port },
          { host: '127.0.0.1', port: honest.port },
        ],
      },
    );
    await done;
    await assertSameTree(join(dir, 'src', 'film'), join(dir, 'hostile-out', 'film'));
    expect(bad.stats.corruptBlocksSent).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0);
    expect(banned).toContain(`127.0.0.1:${bad.port}`);
    expect(banned).not.toContain(`127.0.0.1:${honest.port}`);
    expect(bad.stats.closedByRemote).toBeGreaterThan(0);
    // Banned for the session: it is not in the peer list and its later dials are refused.
    expect(us.detail(made.infoHash).peerList.map((p) => p.address)).not.toContain(`127.0.0.1:${bad.port}`);
  }, 120_000);

  it.each([
    'oversized-length',
    'garbage-after-handshake',
    'bad-bitfield-length',
    'bitfield-spare-bits',
  ] as const)(
    'drops and bans a peer that sends %s',
    async (abuse) => {
      const made = await makeTorrent({ source: join(dir, 'src', 'film'), pieceLength: 32 * 1024 });
      const bad = await startHostilePeer({ torrent: made.torrent, dir: join(dir, 'src'), protocol: abuse });
      cleanups.push(() => bad.stop());
      const us = await engine(`abuse-${abuse}`);
      await us.add(
        { torrent: made.torrent },
        { paused: false, peers: [{ host: '127.0.0.1', port: bad.port }] },
      );
      const deadline = Date.now() + 30_000;
      while (bad.stats.closedByRemote === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(bad.stats.closedByRemote).toBeGreaterThan(0);
      expect(bad.stats.handshakes).toBe(1);
      await us.remove(made.infoHash, { deleteData: true });
    },
    60_000,
  );

  it('ignores a block it never requested (a cancel race is not abuse) and still downloads correct data', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'film'), pieceLength: 32 * 1024 });
    const odd = await startHostilePeer({
      torrent: made.torrent,
      dir: join(dir, 'src'),
      protocol: 'unrequested-piece',
    });
    cleanups.push(() => odd.stop());
    const us = await engine('unrequested');
    const done = event(us, 'done', made.infoHash);
    await us.add({ torrent: made.torrent }, { peers: [{ host: '127.0.0.1', port: odd.port }] });
    await done;
    await assertSameTree(join(dir, 'src', 'film'), join(dir, 'unrequested-out', 'film'));
  }, 60_000);

  it('finishes from the remaining peer when a seeder disappears mid-download', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'film'), pieceLength: 32 * 1024 });
    // Two capped seeders; one is killed once a quarter of the pieces are in.
    const a = await startLibtorrent({
      savePath: join(dir, 'src'),
      torrent: made.torrent,
      uploadLimit: 512 * 1024,
    });
    cleanups.push(() => a.stop());
    const b = await startLibtorrent({
      savePath: join(dir, 'src'),
      torrent: made.torrent,
      uploadLimit: 512 * 1024,
    });
    cleanups.push(() => b.stop());
    await Promise.all([a.waitFinished(60_000), b.waitFinished(60_000)]);
    const us = await engine('failover');
    const done = event(us, 'done', made.infoHash);
    let pieces = 0;
    let killed: Promise<unknown> | undefined;
    us.on('piece', (ih) => {
      if (ih !== made.infoHash) return;
      pieces++;
      const total = us.detail(made.infoHash).pieceCount ?? 0;
      if (!killed && pieces >= total / 4) killed = a.stop();
    });
    await us.add(
      { torrent: made.torrent },
      {
        peers: [
          { host: '127.0.0.1', port: a.port },
          { host: '127.0.0.1', port: b.port },
        ],
      },
    );
    await done;
    expect(killed).toBeDefined();
    await assertSameTree(join(dir, 'src', 'film'), join(dir, 'failover-out', 'film'));
  }, 120_000);
});

// Tests of the interop harness itself: the real peers trade with EACH OTHER (no Dream engine), so a
// failure in an engine interop test can be blamed on the engine, not on the harness.
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import bencode from 'bencode';
import parseTorrent from 'parse-torrent';
import { afterEach, describe, expect, it } from 'vitest';
import { startAria2 } from './peers/aria2.js';
import { assertSameTree, waitFor } from './peers/checks.js';
import { contentAt, makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { type ProtocolAbuse, startHostilePeer } from './peers/hostile-peer.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { startTracker } from './peers/tracker.js';
import { startTransmission } from './peers/transmission.js';

const MiB = 1024 * 1024;

/** Things to stop after each test, whatever happened (last started, first stopped). */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});
function track<T extends { stop(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => thing.stop());
  return thing;
}
async function tempDir(): Promise<string> {
  const dir = await makeTempDir('dream-harness-');
  cleanups.push(() => removeDir(dir));
  return dir;
}

describe('libtorrent peer', () => {
  it('seeds a hybrid v1+v2 multi-file torrent with pad files to a libtorrent leecher, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'album'), [
      { path: 'a.bin', size: 1 * MiB + 12345 },
      { path: 'sub/b.bin', size: 2 * MiB + 7 },
      { path: 'c.txt', size: 100 },
    ]);
    const { torrent } = await makeTorrent({
      source: join(seedDir, 'album'),
      flavour: 'libtorrent-hybrid',
      pieceLength: 256 * 1024,
    });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    const done = await leecher.waitFinished(60_000);
    expect(done.total_wanted).toBeGreaterThan(3 * MiB);
    await assertSameTree(join(seedDir, 'album'), join(leechDir, 'album'));
    const seederStats = await seeder.stop();
    expect(seederStats?.uploaded).toBeGreaterThanOrEqual(3 * MiB);
  });
});

describe('fixtures', () => {
  it('makes the same bytes for the same seed and path, different ones otherwise', async () => {
    const dir = await tempDir();
    await makeFiles(join(dir, 'a'), [{ path: 'x.bin', size: 5 * MiB + 5 }], 7);
    await makeFiles(join(dir, 'b'), [{ path: 'x.bin', size: 5 * MiB + 5 }], 7);
    await makeFiles(join(dir, 'c'), [{ path: 'x.bin', size: 5 * MiB + 5 }], 8);
    await assertSameTree(join(dir, 'a'), join(dir, 'b'));
    await expect(assertSameTree(join(dir, 'a'), join(dir, 'c'))).rejects.toThrow(/content differs/);
    // Any window of a file can be regenerated without the file (for checking ranges in tests).
    const whole = await readFile(join(dir, 'a', 'x.bin'));
    expect(contentAt(7, 'x.bin', 4_194_311, 1000).equals(whole.subarray(4_194_311, 4_195_311))).toBe(true);
  });

  it('makes .torrent files both tools agree on, and hybrid ones with pad files', async () => {
    const dir = await tempDir();
    await makeFiles(join(dir, 'set'), [
      { path: 'a.bin', size: 100_000 },
      { path: 'b.bin', size: 50_000 },
    ]);
    const plain = await makeTorrent({ source: join(dir, 'set'), trackers: ['http://127.0.0.1:1/announce'] });
    const ltV1 = await makeTorrent({ source: join(dir, 'set'), flavour: 'libtorrent-v1' });
    const hybrid = await makeTorrent({
      source: join(dir, 'set'),
      flavour: 'libtorrent-hybrid',
      private: true,
    });
    const [p, v1, h] = await Promise.all([plain, ltV1, hybrid].map((t) => parseTorrent(t.torrent)));
    // Same content, same piece length: identical v1 piece hashes whoever made the torrent.
    expect(v1!.pieces).toEqual(p!.pieces);
    expect(p!.announce).toEqual(['http://127.0.0.1:1/announce']);
    expect(hybrid.infoHashV2).toMatch(/^[0-9a-f]{64}$/);
    expect(h!.private).toBe(true);
    expect(h!.files.map((f) => f.path)).toContain(join('set', '.pad', String(65536 * 2 - 100_000)));
    expect(plain.infoHashV2).toBeUndefined();
    expect(plain.infoHash).toBe(p!.infoHash);
  });
});

describe('tracker', () => {
  it('answers compact and non-compact announces with the other peers, and scrapes', async () => {
    const tracker = track(await startTracker());
    const hash = Buffer.alloc(20, 0xab);
    const enc = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
    const announce = async (port: number, compact: 0 | 1, left: number) => {
      const peerId = Buffer.alloc(20, port & 0xff);
      const url = `${tracker.announceUrl}?info_hash=${enc(hash)}&peer_id=${enc(peerId)}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=${compact}&event=started`;
      const body = Buffer.from(await (await fetch(url)).arrayBuffer());
      return bencode.decode(body) as Record<string, unknown>;
    };
    tracker.addPeer(hash.toString('hex'), { ip: '127.0.0.1', port: 6001, left: 0 });
    const first = await announce(7001, 1, 10);
    expect(Buffer.from(first.peers as Uint8Array).toString('hex')).toBe('7f0000011771'); // 127.0.0.1:6001
    const second = await announce(7002, 0, 0);
    const peers = (second.peers as { ip: Uint8Array; port: number }[]).map(
      (p) => `${Buffer.from(p.ip).toString()}:${p.port}`,
    );
    expect(peers.sort()).toEqual(['127.0.0.1:6001', '127.0.0.1:7001']);
    expect(second.complete).toBe(2);
    expect(second.incomplete).toBe(1);
    expect(tracker.announces.map((a) => a.port)).toEqual([7001, 7002]);
    const scrape = bencode.decode(
      Buffer.from(
        await (
          await fetch(`${tracker.announceUrl.replace('/announce', '/scrape')}?info_hash=${enc(hash)}`)
        ).arrayBuffer(),
      ),
    ) as { files: Record<string, { complete: number }> };
    expect(Object.values(scrape.files)[0]?.complete).toBe(2);
    const bad = bencode.decode(
      Buffer.from(await (await fetch(`${tracker.announceUrl}?port=1`)).arrayBuffer()),
    ) as Record<string, Uint8Array>;
    expect(Buffer.from(bad['failure reason']!).toString()).toMatch(/info_hash/);
  });
});

describe('rate-limited libtorrent seeder', () => {
  it('uploads to a loopback leecher no faster than its cap (roughly)', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    const size = 3 * MiB;
    const limit = 1 * MiB; // bytes/s: the whole file should take about 3 s
    await makeFiles(seedDir, [{ path: 'stream.mp4', size }]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'stream.mp4'), pieceLength: 256 * 1024 });
    const seeder = track(
      await startLibtorrent({ savePath: seedDir, torrent, uploadLimit: limit, seedMode: true }),
    );
    await seeder.waitFinished(30_000);
    const started = Date.now();
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    await leecher.waitFinished(60_000);
    const seconds = (Date.now() - started) / 1000;
    // Loose on purpose (2 shared cores): without the peer-class fix libtorrent exempts loopback
    // peers from the cap and this takes well under a second.
    expect(seconds).toBeGreaterThanOrEqual(size / limit / 2);
    await assertSameTree(seedDir, leechDir);
  });
});

describe('libtorrent magnet leecher', () => {
  it('fetches the metadata of a hybrid torrent from a libtorrent seeder, then the data', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'folder'), [
      { path: 'v.mkv', size: 1 * MiB + 1 },
      { path: 'v.srt', size: 2000 },
    ]);
    const { torrent, magnet } = await makeTorrent({
      source: join(seedDir, 'folder'),
      flavour: 'libtorrent-hybrid',
    });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, magnet, peers: [seeder.port] }));
    await leecher.waitForEvent((e) => e.event === 'metadata', 30_000);
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'folder'), join(leechDir, 'folder'));
  });
});

describe('libtorrent DHT option', () => {
  it('runs a DHT node on loopback that answers a KRPC ping', async () => {
    const root = await tempDir();
    await makeFiles(join(root, 'seed'), [{ path: 'x.bin', size: 100_000 }]);
    const { torrent } = await makeTorrent({ source: join(root, 'seed', 'x.bin') });
    const node = track(
      await startLibtorrent({ savePath: join(root, 'seed'), torrent, dht: { bootstrap: [] } }),
    );
    expect(node.dhtPort).toBeGreaterThan(0);
    const socket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const reply = new Promise<Record<string, unknown>>((resolve) =>
      socket.on('message', (msg) => resolve(bencode.decode(msg) as Record<string, unknown>)),
    );
    const ping = { t: Buffer.from('aa'), y: 'q', q: 'ping', a: { id: randomBytes(20) } };
    socket.send(Buffer.from(bencode.encode(ping)), node.dhtPort!, '127.0.0.1');
    const answer = await reply;
    expect(Buffer.from(answer.y as Uint8Array).toString()).toBe('r');
    expect((answer.r as { id: Uint8Array }).id.length).toBe(20);
  });
});

describe('aria2 peer', () => {
  it('downloads from a libtorrent seeder it meets through the harness tracker, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(seedDir, [{ path: 'movie.mkv', size: 3 * MiB + 333 }]);
    const { torrent, infoHash } = await makeTorrent({ source: join(seedDir, 'movie.mkv') });
    const tracker = track(await startTracker());
    const seeder = track(
      await startLibtorrent({ savePath: seedDir, torrent, trackers: [tracker.announceUrl] }),
    );
    await seeder.waitFinished(30_000);
    await tracker.waitForAnnounce((a) => a.infoHash === infoHash && a.port === seeder.port, 30_000);
    const leecher = track(
      await startAria2({ torrent, dir: leechDir, mode: 'leech', tracker: tracker.announceUrl }),
    );
    const done = await leecher.waitReady(60_000);
    expect(done.completedLength).toBe(3 * MiB + 333);
    await assertSameTree(seedDir, leechDir);
    // aria2 announced itself with the port it listens on (what a test would point our engine at).
    const announce = await tracker.waitForAnnounce((a) => a.port === leecher.port, 10_000);
    expect(announce.ip).toBe('127.0.0.1');
  });

  it('seeds to a libtorrent leecher that dials it', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'multi'), [
      { path: 'a/1.bin', size: 1 * MiB },
      { path: 'b/2.bin', size: 1 * MiB + 17 },
    ]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'multi'), flavour: 'libtorrent-v1' });
    const seeder = track(await startAria2({ torrent, dir: seedDir, mode: 'seed' }));
    await seeder.waitReady(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'multi'), join(leechDir, 'multi'));
    expect((await seeder.stats()).uploadLength).toBeGreaterThanOrEqual(2 * MiB);
  });
});

describe('Transmission peer', () => {
  it('seeds a multi-file torrent to a libtorrent leecher, byte-identical', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'show'), [
      { path: 'e01.mkv', size: 2 * MiB + 1 },
      { path: 'e02.mkv', size: 1 * MiB - 1 },
    ]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'show') });
    const seeder = track(await startTransmission({ torrent, dir: seedDir }));
    await seeder.waitSeeding(30_000);
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [seeder.port] }));
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'show'), join(leechDir, 'show'));
  });

  it('downloads from a libtorrent seeder that dials it (Transmission never dials loopback)', async () => {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(seedDir, [{ path: 'clip.mp4', size: 2 * MiB + 99 }]);
    const { torrent } = await makeTorrent({ source: join(seedDir, 'clip.mp4'), flavour: 'libtorrent-v1' });
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    const leecher = track(await startTransmission({ torrent, dir: leechDir }));
    seeder.connect(leecher.port);
    await leecher.waitSeeding(60_000);
    await assertSameTree(seedDir, leechDir);
  });
});

describe('hostile peer', () => {
  const BLOCK = 16 * 1024;

  async function fixture(flavour: 'create-torrent' | 'libtorrent-hybrid' = 'create-torrent') {
    const root = await tempDir();
    const seedDir = join(root, 'seed');
    const leechDir = join(root, 'leech');
    await mkdir(leechDir);
    await makeFiles(join(seedDir, 'pack'), [
      { path: 'one.bin', size: 700 * 1024 + 3 },
      { path: 'two.bin', size: 900 * 1024 },
    ]);
    const made = await makeTorrent({ source: join(seedDir, 'pack'), flavour, pieceLength: 64 * 1024 });
    return { seedDir, leechDir, ...made };
  }

  it.each([
    ['create-torrent', { pieces: [1, 5, 20] }],
    ['libtorrent-hybrid', { pieces: [1, 5, 20] }],
    ['create-torrent', { probability: 0.3, seed: 4 }],
  ] as const)(
    'sends bytes that fail SHA-1 exactly for the pieces it corrupts (%s, %o)',
    async (flavour, corrupt) => {
      const { seedDir, torrent } = await fixture(flavour);
      const parsed = await parseTorrent(torrent);
      const hostile = track(await startHostilePeer({ torrent, dir: seedDir, corrupt: { ...corrupt } }));
      const failing: number[] = [];
      for (let index = 0; index < parsed.pieces.length; index++) {
        const size = index === parsed.pieces.length - 1 ? parsed.lastPieceLength : parsed.pieceLength;
        const hash = createHash('sha1');
        for (let begin = 0; begin < size; begin += BLOCK) {
          hash.update(await hostile.block(index, begin, Math.min(BLOCK, size - begin)));
        }
        if (hash.digest('hex') !== parsed.pieces[index]) failing.push(index);
      }
      const expected = parsed.pieces.map((_, i) => i).filter((i) => hostile.isCorrupt(i));
      expect(failing).toEqual(expected);
      if ('pieces' in corrupt) expect(failing).toEqual([1, 5, 20]);
      else expect(failing.length).toBeGreaterThan(0);
      expect(failing.length).toBeLessThan(parsed.pieces.length);
    },
  );

  it('serves correct data when told no lies, dialing out, hybrid torrent with pad files', async () => {
    const { seedDir, leechDir, torrent } = await fixture('libtorrent-hybrid');
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, encryption: 'disabled' }));
    const honest = track(await startHostilePeer({ torrent, dir: seedDir, connectTo: [leecher.port] }));
    await leecher.waitFinished(60_000);
    await assertSameTree(join(seedDir, 'pack'), join(leechDir, 'pack'));
    expect(honest.stats.requests).toBeGreaterThan(0);
    expect(honest.stats.corruptBlocksSent).toBe(0);
  });

  it('gets banned by a libtorrent leecher, which still completes correct from an honest seeder', async () => {
    const { seedDir, leechDir, torrent } = await fixture();
    const hostile = track(await startHostilePeer({ torrent, dir: seedDir, corrupt: { all: true } }));
    const seeder = track(await startLibtorrent({ savePath: seedDir, torrent }));
    await seeder.waitFinished(30_000);
    // The hostile peer alone first, so its bytes certainly arrive and fail; then the honest one.
    const leecher = track(await startLibtorrent({ savePath: leechDir, torrent, peers: [hostile.port] }));
    await leecher.waitForEvent((e) => e.event === 'hash_failed', 30_000);
    const banned = await leecher.waitForEvent((e) => e.event === 'peer_banned', 30_000);
    expect(banned.port).toBe(hostile.port);
    // One CI run in nine hung here past the test's timeout, without saying where. libtorrent
    // retries a dropped peer only after a back-off, so the honest seeder is dialled again until the
    // download is done, and a failure names the leecher's last events.
    leecher.connect(seeder.port);
    const redial = setInterval(() => leecher.connect(seeder.port), 5_000);
    try {
      await leecher.waitFinished(60_000);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; the leecher's last events: ${JSON.stringify(leecher.events.slice(-12))}`,
      );
    } finally {
      clearInterval(redial);
    }
    await assertSameTree(join(seedDir, 'pack'), join(leechDir, 'pack'));
    expect(hostile.stats.corruptBlocksSent).toBeGreaterThan(0);
  }, 160_000); // its own waits: 30 + 30 + 30 + 60 s, so each can fail with its own message

  it.each(['oversized-length', 'garbage-after-handshake', 'bad-bitfield-length'] as ProtocolAbuse[])(
    'misbehaves at the protocol level (%s) and libtorrent hangs up on it',
    async (abuse) => {
      const { leechDir, torrent, seedDir } = await fixture();
      const hostile = track(await startHostilePeer({ torrent, dir: seedDir, protocol: abuse }));
      // Plain handshakes only, so the first connection reaches the abuse (no MSE attempt first).
      const leecher = track(
        await startLibtorrent({ savePath: leechDir, torrent, peers: [hostile.port], encryption: 'disabled' }),
      );
      await leecher.waitForEvent((e) => e.event === 'peer_disconnected' && e.port === hostile.port, 30_000);
      await waitFor(() => hostile.stats.closedByRemote > 0, 10_000, 'the hostile peer to see the hang-up');
      expect(hostile.stats.abusesSent).toBeGreaterThan(0);
      expect(hostile.stats.requests).toBe(0);
    },
  );
});

// BEP 52 on the wire: the v2 bit in handshakes, the upgrade to the v2 info hash for hybrid
// torrents (what libtorrent does, and what it requires before it answers hash requests), and the
// hash messages, against raw byte streams (hostile ones too) and a real libtorrent 2.x peer in both
// directions.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { createLogger } from '@dream/config';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent } from '../src/create/index.js';
import { BlockVerifier, leavesFit } from '../src/engine/block-verifier.js';
import { Engine } from '../src/engine/engine.js';
import { parseTorrent, type TorrentMeta } from '../src/metainfo/index.js';
import { merkleRoot } from '../src/metainfo/merkle.js';
import { dialPeer, type Handshaken, PeerListener } from '../src/swarm/connect.js';
import type { GuardedWire, HashAnswer } from '../src/wire/guarded-wire.js';
import { makeFiles, makeTempDir, makeTorrent, removeDir } from './peers/fixtures.js';
import { type LibtorrentPeer, startLibtorrent } from './peers/libtorrent.js';
import { handshakeBytes, OUR_ID, violation } from './wire-helpers.js';

const V1 = 'aa'.repeat(20);
const V2 = 'bb'.repeat(20);
const ROOT = Buffer.alloc(32, 7);

let listener: PeerListener | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await listener?.close();
  listener = undefined;
});

/** Our listener for one hybrid torrent (V1, truncated v2 hash V2). */
async function listen(): Promise<{ port: number; accepted: Promise<Handshaken> }> {
  let resolve!: (h: Handshaken) => void;
  const accepted = new Promise<Handshaken>((r) => {
    resolve = r;
  });
  listener = new PeerListener({
    peerId: OUR_ID,
    admit: () => true,
    route: (ih) =>
      ih === V1 || ih === V2 ? { setup: () => {}, pieceCount: 8, infohash: V1, infohashV2: V2 } : undefined,
    accept: (h) => resolve(h),
  });
  return { port: await listener.listen(0, '127.0.0.1'), accepted };
}

function hashMessage(id: number, fields: number[], extra = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(1 + 32 + 16);
  body[0] = id;
  ROOT.copy(body, 1);
  fields.forEach((n, i) => {
    body.writeUInt32BE(n, 33 + 4 * i);
  });
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length + extra.length);
  return Buffer.concat([len, body, extra]);
}

/** A raw peer: sends its handshake, collects everything we send back. */
async function rawPeer(port: number, infohash: string, v2Bit: boolean) {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  s.on('error', () => {});
  let received = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
  });
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(handshakeBytes(infohash, { v2Bit }));
  return { socket: s, received: () => received };
}

async function until<T>(f: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the BEP 52 handshake upgrade (incoming)', () => {
  it('answers a v1 handshake with the v2 bit by the v2 hash and the bit: the connection is upgraded', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    const h = await accepted;
    expect(h.infohash).toBe(V1); // the torrent is known by its v1 hash whatever the wire says
    expect(h.wire.v2).toBe(true);
    const reply = await until(
      () => (peer.received().length >= 68 ? peer.received() : undefined),
      'our handshake',
    );
    expect(reply.subarray(28, 48).toString('hex')).toBe(V2);
    expect((reply[27] ?? 0) & 0x10).toBe(0x10);
  });

  it('routes a handshake that names the truncated v2 hash, and answers with it', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V2, false);
    const h = await accepted;
    expect(h.infohash).toBe(V1);
    expect(h.wire.v2).toBe(true);
    const reply = await until(
      () => (peer.received().length >= 68 ? peer.received() : undefined),
      'our handshake',
    );
    expect(reply.subarray(28, 48).toString('hex')).toBe(V2);
  });

  it('keeps a v1 peer (no bit) on the v1 hash', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, false);
    const h = await accepted;
    expect(h.wire.v2).toBe(false);
    const reply = await until(
      () => (peer.received().length >= 68 ? peer.received() : undefined),
      'our handshake',
    );
    expect(reply.subarray(28, 48).toString('hex')).toBe(V1);
  });
});

describe('hash messages', () => {
  it('answers a hash request with a reject naming the same hashes when no torrent can answer it', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    await accepted;
    peer.socket.write(hashMessage(21, [0, 64, 64, 2]));
    const reject = hashMessage(23, [0, 64, 64, 2]);
    const got = await until(() => (peer.received().includes(reject) ? true : undefined), 'a hash reject');
    expect(got).toBe(true);
  });

  it('hands hashes and rejects to the torrent, parsed', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    const h = await accepted;
    const answers: HashAnswer[] = [];
    h.wire.on('hash-answer', (a: HashAnswer) => answers.push(a));
    const hashes = randomBytes(4 * 32);
    peer.socket.write(Buffer.concat([hashMessage(22, [0, 8, 4, 0], hashes), hashMessage(23, [0, 12, 4, 0])]));
    await until(() => (answers.length === 2 ? true : undefined), 'two answers');
    expect(answers[0]).toMatchObject({ baseLayer: 0, index: 8, length: 4, proofLayers: 0 });
    expect(answers[0]?.root.equals(ROOT)).toBe(true);
    expect(answers[0]?.hashes?.equals(hashes)).toBe(true);
    expect(answers[1]).toMatchObject({ index: 12, length: 4 });
    expect(answers[1]?.hashes).toBeUndefined();
  });

  it("takes an answer of 8192 hashes (a big file's piece layer) and refuses a longer one", async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    const h = await accepted;
    const answers: HashAnswer[] = [];
    h.wire.on('hash-answer', (a: HashAnswer) => answers.push(a));
    peer.socket.write(hashMessage(22, [6, 0, 8192, 0], Buffer.alloc(8192 * 32, 1)));
    await until(() => (answers.length === 1 ? true : undefined), 'the answer');
    expect(answers[0]?.hashes?.length).toBe(8192 * 32);
    peer.socket.write(hashMessage(22, [6, 0, 8193, 0], Buffer.alloc(8193 * 32, 1)));
    expect(await violation(h.wire)).toBe('message-too-long');
  });

  it('holds other kinds of message to the usual limit: a 200 KiB extended message is refused', async () => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    const h = await accepted;
    const big = Buffer.alloc(4 + 1 + 200 * 1024);
    big.writeUInt32BE(1 + 200 * 1024, 0);
    big[4] = 20;
    peer.socket.write(big);
    expect(await violation(h.wire)).toBe('message-too-long');
  });

  it.each([
    ['hashes that are not whole 32-byte hashes', hashMessage(22, [0, 0, 2, 0], Buffer.alloc(40))],
    ['a hash request with trailing bytes', hashMessage(21, [0, 0, 2, 0], Buffer.alloc(3))],
    ['a reject too short to name what it rejects', Buffer.from([0, 0, 0, 5, 23, 1, 2, 3, 4])],
  ])('drops a peer that sends %s', async (_what, bytes) => {
    const { port, accepted } = await listen();
    const peer = await rawPeer(port, V1, true);
    const h = await accepted;
    peer.socket.write(bytes);
    expect(await violation(h.wire)).toBe('bad-hash-message');
  });
});

describe('with a real libtorrent 2.x peer', () => {
  let dir: string;
  let meta: TorrentMeta;
  let lt: LibtorrentPeer | undefined;
  const PIECE = 256 * 1024;

  beforeAll(async () => {
    dir = await makeTempDir('dream-wire-v2-');
    await makeFiles(join(dir, 'src'), [{ path: 'film.mkv', size: 3 * PIECE + 12_345 }], 3);
    const made = await makeTorrent({
      source: join(dir, 'src', 'film.mkv'),
      flavour: 'libtorrent-hybrid',
      pieceLength: PIECE,
    });
    meta = parseTorrent(made.torrent);
    // Not seed mode: a seeder in seed mode answers hash requests with rejects.
    lt = await startLibtorrent({ savePath: join(dir, 'src'), torrent: made.torrent });
    await lt.waitFinished(30_000);
  }, 60_000);

  afterAll(async () => {
    await lt?.stop();
    await removeDir(dir);
  });

  /** Asks `wire` for piece `piece`'s leaves; resolves with libtorrent's answer. */
  function askLeaves(wire: GuardedWire, piece: number): Promise<HashAnswer> {
    const verifier = new BlockVerifier(meta);
    const tree = verifier.tree(piece)!;
    const answer = new Promise<HashAnswer>((resolve) => wire.once('hash-answer', resolve));
    wire.hashRequest(tree.root, 0, tree.index, tree.length, 0);
    return answer.then((a) => {
      expect(leavesFit(tree, a)).toBe(true);
      return a;
    });
  }

  it('we dial: libtorrent upgrades the connection and answers hash requests with leaves that fit', async () => {
    const h = await dialPeer(
      { host: '127.0.0.1', port: lt!.port },
      { infohash: meta.infohash, infohashV2: meta.infohashV2!.slice(0, 40), peerId: OUR_ID, setup: () => {} },
    );
    sockets.push(h.socket);
    expect(h.infohash).toBe(meta.infohash);
    expect(h.wire.v2).toBe(true);
    const a = await askLeaves(h.wire, 3); // the last, short piece: 1 block of data, 16 leaves
    expect(a.hashes?.length).toBe(16 * 32);
  });

  it('through MSE (RC4 required) the connection still opens: libtorrent keeps it on the v1 hash the keys came from', async () => {
    const h = await dialPeer(
      { host: '127.0.0.1', port: lt!.port },
      {
        infohash: meta.infohash,
        infohashV2: meta.infohashV2!.slice(0, 40),
        peerId: OUR_ID,
        setup: () => {},
        encryption: 'required',
      },
    );
    sockets.push(h.socket);
    expect(h.encryption).toBe('rc4');
    expect(h.infohash).toBe(meta.infohash);
    expect(h.wire.v2).toBe(false);
  });

  it('libtorrent dials us: we upgrade, and it answers too', async () => {
    let resolve!: (h: Handshaken) => void;
    const accepted = new Promise<Handshaken>((r) => {
      resolve = r;
    });
    const v2 = meta.infohashV2!.slice(0, 40);
    listener = new PeerListener({
      peerId: OUR_ID,
      admit: () => true,
      route: (ih) =>
        ih === meta.infohash || ih === v2
          ? { setup: () => {}, pieceCount: meta.pieceCount, infohash: meta.infohash, infohashV2: v2 }
          : undefined,
      accept: (h) => resolve(h),
    });
    const port = await listener.listen(0, '127.0.0.1');
    lt!.connect(port);
    const h = await accepted;
    sockets.push(h.socket);
    expect(h.wire.v2).toBe(true);
    await askLeaves(h.wire, 1);
  });
});

describe('a Dream engine seeding a hybrid torrent it made', () => {
  let dir: string;
  let meta: TorrentMeta;
  let seeder: Engine | undefined;
  const PIECE = 256 * 1024;

  beforeAll(async () => {
    dir = await makeTempDir('dream-wire-v2-seed-');
    await makeFiles(join(dir, 'src'), [{ path: 'film.mkv', size: 3 * PIECE + 12_345 }], 5);
    const file = join(dir, 'src', 'film.mkv');
    const made = await createTorrent(file, { hybrid: true, pieceLength: PIECE });
    meta = made.meta;
    const log = createLogger({ name: 'wire-v2', level: 'silent' });
    seeder = await Engine.start({
      outputDir: join(dir, 'out'),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 20,
      log,
      trackers: false,
    });
    await seeder.add({ torrent: made.torrent, path: file });
    await until(
      () => (seeder!.torrent(meta.infohash)?.isDone() ? true : undefined),
      'the seeder to check its file',
    );
  }, 60_000);

  afterAll(async () => {
    await seeder?.stop();
    await removeDir(dir);
  });

  async function dialSeeder(): Promise<Handshaken> {
    const h = await dialPeer(
      { host: '127.0.0.1', port: seeder!.port },
      { infohash: meta.infohash, infohashV2: meta.infohashV2!.slice(0, 40), peerId: OUR_ID, setup: () => {} },
    );
    sockets.push(h.socket);
    return h;
  }

  it('answers the leaves of a piece it has, which fit the piece layer', async () => {
    const h = await dialSeeder();
    expect(h.wire.v2).toBe(true);
    const verifier = new BlockVerifier(meta);
    for (const piece of [0, 3]) {
      const tree = verifier.tree(piece)!;
      const answer = new Promise<HashAnswer>((resolve) => h.wire.once('hash-answer', resolve));
      h.wire.hashRequest(tree.root, 0, tree.index, tree.length, 0);
      expect(leavesFit(tree, await answer)).toBe(true);
    }
  });

  it('answers the piece layer of the file (what a viewer from a magnet asks first), which hashes to the root', async () => {
    const h = await dialSeeder();
    const file = meta.files[0]!;
    const answer = new Promise<HashAnswer>((resolve) => h.wire.once('hash-answer', resolve));
    // 256 KiB pieces: 16 leaves, the piece layer is layer 4; 4 pieces, width 4.
    h.wire.hashRequest(file.piecesRoot!, 4, 0, 4, 0);
    const got = await answer;
    expect(got.hashes?.equals(Buffer.from(file.pieceLayer!))).toBe(true);
    expect(Buffer.from(merkleRoot(got.hashes!, 4)).equals(Buffer.from(file.piecesRoot!))).toBe(true);
  });

  it.each([
    ['an index not on a piece boundary', (root: Buffer) => [root, 0, 3, 16, 0] as const],
    ['a count other than a piece of leaves', (root: Buffer) => [root, 0, 0, 8, 0] as const],
    ['proof layers (not served)', (root: Buffer) => [root, 0, 0, 16, 2] as const],
    ['a layer above the piece layer (not served)', (root: Buffer) => [root, 5, 0, 2, 0] as const],
    ['part of the piece layer (not served)', (root: Buffer) => [root, 4, 0, 2, 0] as const],
    ['a tree it does not have', () => [Buffer.alloc(32, 9), 0, 0, 16, 0] as const],
    ['leaves past the end of the file', (root: Buffer) => [root, 0, 64, 16, 0] as const],
  ])('declines %s, and stays connected', async (_what, ask) => {
    const h = await dialSeeder();
    const [root, base, index, length, proof] = ask(Buffer.from(meta.files[0]!.piecesRoot!));
    const answer = new Promise<HashAnswer>((resolve) => h.wire.once('hash-answer', resolve));
    h.wire.hashRequest(root, base, index, length, proof);
    const got = await answer;
    expect(got.hashes).toBeUndefined(); // a reject
    expect([got.baseLayer, got.index, got.length, got.proofLayers]).toEqual([base, index, length, proof]);
    expect(h.wire.destroyed).toBe(false);
  });
});

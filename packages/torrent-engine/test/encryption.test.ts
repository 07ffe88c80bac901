// Peer-wire encryption (MSE): the cipher against published vectors, our two handshake sides over
// loopback sockets (both payload methods, pads split across reads), a table of hostile handshakes
// that must fail with a reason and nothing else, and downloads through it: from a libtorrent seeder
// that requires encryption, to a libtorrent leecher that requires it, and between two engines that
// require RC4. libtorrent (python3-libtorrent 2.0) is the reference implementation here.
import { randomBytes } from 'node:crypto';
import net, { type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.js';
import { PeerListener } from '../src/swarm/connect.js';
import {
  type EncryptionPolicy,
  METHOD_PLAINTEXT,
  METHOD_RC4,
  type MseResult,
  mseInitiate,
  mseRespond,
  newReader,
  req2Hash,
} from '../src/wire/mse/handshake.js';
import { Rc4 } from '../src/wire/mse/rc4.js';
import { EngineFleet, engineEvent } from './engine-fleet.js';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTorrent } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { bytesAnsweredToPlaintext, plaintextHandshake } from './peers/plaintext-peer.js';

const IH = 'ab'.repeat(20);

describe('RC4', () => {
  it('matches the published test vectors', () => {
    const vectors = [
      ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
      ['Wiki', 'pedia', '1021bf0420'],
      ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
    ] as const;
    for (const [key, text, hex] of vectors) {
      expect(new Rc4(Buffer.from(key)).update(Buffer.from(text)).toString('hex')).toBe(hex);
    }
  });

  it('encrypts into a new buffer, leaving a shared one alone, and keeps its state across calls', () => {
    const data = Buffer.from('Attack at dawn');
    const whole = new Rc4(Buffer.from('Secret')).update(data);
    const split = new Rc4(Buffer.from('Secret'));
    const parts = Buffer.concat([split.update(data.subarray(0, 5)), split.update(data.subarray(5))]);
    expect(parts.equals(whole)).toBe(true);
    expect(data.toString()).toBe('Attack at dawn');
  });
});

/** A connected pair of loopback sockets. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const other = await accepted;
  server.close();
  return [client, other];
}

/** Runs one side of MSE on a socket, its bytes through a reader, optionally dribbled out 7 at a time. */
function side<T>(
  socket: Socket,
  run: (io: { reader: ReturnType<typeof newReader>; write(b: Buffer): void }) => Promise<T>,
  dribble = false,
) {
  const reader = newReader();
  const onData = (d: Buffer) => reader.push(d);
  socket.on('data', onData);
  socket.once('close', () => reader.fail(new Error('closed')));
  const write = (b: Buffer) => {
    if (!dribble) return void socket.write(b);
    for (let i = 0; i < b.length; i += 7) socket.write(b.subarray(i, i + 7));
  };
  return run({ reader, write }).finally(() => socket.off('data', onData));
}

/** Sends `data` through the established encryption and returns what the other side decrypted. */
async function carry(
  from: Socket,
  fromMse: MseResult,
  to: Socket,
  toMse: MseResult,
  data: Buffer,
): Promise<Buffer> {
  const got: Buffer[] = [Buffer.from(toMse.leftover)];
  let length = toMse.leftover.length;
  const done = new Promise<void>((resolve) => {
    to.on('data', (chunk: Buffer) => {
      got.push(Buffer.from(toMse.decrypt(chunk)));
      length += chunk.length;
      if (length >= data.length) resolve();
    });
  });
  from.write(fromMse.encrypt(data));
  if (length < data.length) await done;
  return Buffer.concat(got);
}

describe('the MSE handshake, both sides ours', () => {
  for (const [name, provided, accepted, method] of [
    [
      'both offered: plaintext payload',
      METHOD_PLAINTEXT | METHOD_RC4,
      METHOD_PLAINTEXT | METHOD_RC4,
      'plaintext',
    ],
    ['RC4 required by the responder', METHOD_PLAINTEXT | METHOD_RC4, METHOD_RC4, 'rc4'],
    ['RC4 only offered', METHOD_RC4, METHOD_PLAINTEXT | METHOD_RC4, 'rc4'],
  ] as const) {
    it(`${name}: both agree, and 1 MiB crosses each way intact`, async () => {
      for (const dribble of [false, true]) {
        const [a, b] = await socketPair();
        try {
          const [ra, rb] = await Promise.all([
            side(a, (io) => mseInitiate(io, IH, provided), dribble),
            side(
              b,
              (io) => mseRespond(io, accepted, (req2) => (req2.equals(req2Hash(IH)) ? IH : undefined)),
              dribble,
            ),
          ]);
          expect([ra.method, rb.method]).toEqual([method, method]);
          expect(rb.infohash).toBe(IH);
          const ab = randomBytes(1024 * 1024);
          expect((await carry(a, ra, b, rb, ab)).equals(ab)).toBe(true);
          const ba = randomBytes(1024 * 1024);
          expect((await carry(b, rb, a, ra, ba)).equals(ba)).toBe(true);
        } finally {
          a.destroy();
          b.destroy();
        }
      }
    });
  }

  it("the initiator's first words (its BitTorrent handshake) arrive with the handshake, decrypted", async () => {
    const [a, b] = await socketPair();
    try {
      const hello = plaintextHandshake(IH);
      const [, rb] = await Promise.all([
        side(a, (io) => mseInitiate(io, IH, METHOD_RC4, () => hello)),
        side(b, (io) => mseRespond(io, METHOD_RC4, () => IH)),
      ]);
      expect(rb.leftover.equals(hello)).toBe(true);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('the responder refuses a torrent it does not have, and a method it does not accept', async () => {
    const [a, b] = await socketPair();
    const responded = side(b, (io) => mseRespond(io, METHOD_RC4, () => undefined));
    void side(a, (io) => mseInitiate(io, IH, METHOD_RC4)).catch(() => {});
    await expect(responded).rejects.toThrow('a torrent we do not have');
    a.destroy();
    b.destroy();
    const [c, d] = await socketPair();
    const refused = side(d, (io) => mseRespond(io, METHOD_RC4, () => IH));
    void side(c, (io) => mseInitiate(io, IH, METHOD_PLAINTEXT)).catch(() => {});
    await expect(refused).rejects.toThrow('no encryption method in common');
    c.destroy();
    d.destroy();
  });
});

describe('hostile handshakes fail with a reason', () => {
  /** Feeds `bytes` to one side of the handshake through a reader, then closes; returns its error. */
  async function against(role: 'responder' | 'initiator', bytes: Buffer): Promise<string> {
    const reader = newReader();
    const io = { reader, write: () => {} };
    const run =
      role === 'responder' ? mseRespond(io, METHOD_PLAINTEXT | METHOD_RC4, () => IH) : mseInitiate(io, IH, 3);
    reader.push(bytes);
    reader.fail(new Error('the peer closed the connection'));
    return run.then(
      () => 'no error',
      (err: Error) => err.message,
    );
  }
  const key = (n: number) => {
    const b = Buffer.alloc(96);
    b[95] = n;
    return b;
  };

  it.each([
    [
      'responder',
      'random bytes with no request hash in the first 532',
      randomBytes(96 + 700),
      'request hash not found',
    ],
    [
      'initiator',
      'random bytes with no verification constant in the first 520',
      randomBytes(96 + 700),
      'verification constant not found',
    ],
    [
      'responder',
      'a Diffie-Hellman key of 1',
      Buffer.concat([key(1), randomBytes(40)]),
      'unusable Diffie-Hellman key',
    ],
    [
      'responder',
      'a Diffie-Hellman key of 0',
      Buffer.concat([key(0), randomBytes(40)]),
      'unusable Diffie-Hellman key',
    ],
    [
      'initiator',
      'a Diffie-Hellman key of P (too large)',
      Buffer.concat([Buffer.alloc(96, 0xff), randomBytes(40)]),
      'unusable Diffie-Hellman key',
    ],
    ['responder', 'a key cut short', randomBytes(50), 'the peer closed the connection'],
  ] as const)('%s given %s', async (role, _what, bytes, message) => {
    expect(await against(role, bytes)).toContain(message);
  });

  it('at the listener: refused with the reason, the socket closed, the next peer served', async () => {
    const listener = new PeerListener({
      peerId: 'aa'.repeat(20),
      route: () => undefined,
      accept: () => {},
      admit: () => true,
      infohashes: () => [IH],
      encryption: 'enabled',
    });
    const port = await listener.listen(0, '127.0.0.1');
    const refused: { reason: string }[] = [];
    listener.on('refused', (r: { reason: string }) => refused.push(r));
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.on('data', () => {}); // its Yb and pad
        s.write(randomBytes(96 + 700));
        await new Promise((r) => s.once('close', r));
      }
      expect(refused.map((r) => r.reason)).toEqual([
        'the request hash not found in the first 532 bytes',
        'the request hash not found in the first 532 bytes',
      ]);
    } finally {
      await listener.close();
    }
  });

  it('a peer that floods during the handshake is cut off at 1 MiB', async () => {
    const reader = newReader();
    const run = mseRespond({ reader, write: () => {} }, 3, () => IH);
    reader.push(randomBytes(96));
    // More than the cap before the request hash is even searched for far enough.
    for (let i = 0; i < 20; i++) reader.push(randomBytes(64 * 1024));
    await expect(run).rejects.toThrow(/more than 1048576 bytes|request hash not found/);
  });
});

describe('downloads through MSE', () => {
  const FILES = [{ path: 'clip/video.mp4', size: 3 * 1024 * 1024 + 1234 }];
  const fleet = new EngineFleet('dream-mse-');
  const engine = (name: string, encryption: EncryptionPolicy) => fleet.engine(name, { encryption });
  let dir: string;

  beforeAll(async () => {
    await fleet.setUp();
    dir = fleet.dir;
    await makeFiles(join(dir, 'src'), FILES);
  });

  afterAll(() => fleet.tearDown());

  it('from a libtorrent seeder that requires encryption: our plaintext is refused, MSE gets through', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'clip'), flavour: 'create-torrent' });
    const lt = await startLibtorrent({
      savePath: join(dir, 'src'),
      torrent: made.torrent,
      encryption: 'forced',
    });
    fleet.onTearDown(() => lt.stop());
    const us = await engine('from-forced', 'enabled');
    const finished = engineEvent(us, 'done', made.infoHash);
    await us.add({ torrent: made.torrent }, { peers: [{ host: '127.0.0.1', port: lt.port }] });
    const peer = await waitForPeer(us, made.infoHash);
    expect(peer.encryption).not.toBe('none');
    await finished;
    await assertSameTree(join(dir, 'src', 'clip'), join(dir, 'from-forced-out', 'clip'));
  });

  it('from a libtorrent seeder, every byte RC4 when we require it', async () => {
    const made = await makeTorrent({ source: join(dir, 'src', 'clip'), flavour: 'create-torrent' });
    const lt = await startLibtorrent({ savePath: join(dir, 'src'), torrent: made.torrent });
    fleet.onTearDown(() => lt.stop());
    const us = await engine('rc4-from-lt', 'required');
    const finished = engineEvent(us, 'done', made.infoHash);
    await us.add({ torrent: made.torrent }, { peers: [{ host: '127.0.0.1', port: lt.port }] });
    expect((await waitForPeer(us, made.infoHash)).encryption).toBe('rc4');
    await finished;
    await assertSameTree(join(dir, 'src', 'clip'), join(dir, 'rc4-from-lt-out', 'clip'));
  });

  it('to a libtorrent leecher that requires encryption (it dials us)', async () => {
    const us = await engine('seed-forced', 'enabled');
    const added = await us.add({ path: join(dir, 'src', 'clip') });
    const torrent = us.torrent(added.infohash)?.meta?.torrent;
    const leechDir = join(dir, 'forced-leech');
    const lt = await startLibtorrent({ savePath: leechDir, torrent, peers: [us.port], encryption: 'forced' });
    fleet.onTearDown(() => lt.stop());
    const peer = await waitForPeer(us, added.infohash);
    expect(peer).toMatchObject({ incoming: true });
    expect(peer.encryption).not.toBe('none');
    const done = await lt.waitFinished(90_000);
    await assertSameTree(join(dir, 'src', 'clip'), join(leechDir, 'clip'));
    expect(done.failed_bytes).toBe(0);
  });

  it('the listener keeps to its policy: no MSE when disabled, nothing else when required', async () => {
    const plainOnly = await engine('policy-disabled', 'disabled');
    const added = await plainOnly.add({ path: join(dir, 'src', 'clip') });
    const socket = net.connect(plainOnly.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const attempt = side(socket, (io) => mseInitiate(io, added.infohash, METHOD_PLAINTEXT | METHOD_RC4));
    await expect(attempt).rejects.toThrow('closed');
    socket.destroy();

    const encryptedOnly = await engine('policy-required', 'required');
    await encryptedOnly.add({ path: join(dir, 'src', 'clip') });
    expect(await bytesAnsweredToPlaintext(encryptedOnly.port, added.infohash)).toBe(0);
  });

  it('between two engines that require it: every byte RC4, and a plaintext peer is turned away', async () => {
    const seeder = await engine('rc4-seed', 'required');
    const added = await seeder.add({ path: join(dir, 'src', 'clip') });
    const torrent = seeder.torrent(added.infohash)!.meta!.torrent!;
    const leecher = await engine('rc4-leech', 'required');
    const finished = engineEvent(leecher, 'done', added.infohash);
    await leecher.add({ torrent }, { peers: [{ host: '127.0.0.1', port: seeder.port }] });
    expect((await waitForPeer(leecher, added.infohash)).encryption).toBe('rc4');
    await finished;
    await assertSameTree(join(dir, 'src', 'clip'), join(dir, 'rc4-leech-out', 'clip'));
    // libtorrent with encryption disabled cannot reach a seeder that requires it.
    const plain = await startLibtorrent({
      savePath: join(dir, 'plain-leech'),
      torrent,
      peers: [seeder.port],
      encryption: 'disabled',
    });
    fleet.onTearDown(() => plain.stop());
    await plain.waitForEvent((e) => e.event === 'peer_disconnected', 30_000);
    expect(
      seeder.detail(added.infohash).peerList.filter((p) => p.incoming && p.encryption === 'none'),
    ).toEqual([]);
    expect((await plain.stats()).progress).toBe(0);
  });
});

async function waitForPeer(e: Engine, infohash: string) {
  for (let i = 0; i < 300; i++) {
    const p = e.detail(infohash).peerList[0];
    if (p) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no peer connected within 15 s');
}

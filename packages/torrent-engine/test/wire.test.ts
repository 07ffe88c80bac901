// The guarded wire against hostile byte streams on a real loopback socket: each limit turns into a
// 'violation' and a closed connection, and an honest exchange still works.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dialPeer, type Handshaken, PeerListener } from '../src/swarm/connect.js';
import { startDelayRelay } from './peers/delay-relay.js';
import { handshakeBytes, OUR_ID, violation } from './wire-helpers.js';

const INFOHASH = 'aa'.repeat(20);

let listener: PeerListener | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await listener?.close();
  listener = undefined;
});

async function listen(pieceCount: number): Promise<{ port: number; accepted: Promise<Handshaken> }> {
  let resolve!: (h: Handshaken) => void;
  const accepted = new Promise<Handshaken>((r) => {
    resolve = r;
  });
  listener = new PeerListener({
    peerId: OUR_ID,
    admit: () => true,
    route: (ih) => (ih === INFOHASH ? { setup: () => {}, pieceCount, infohash: ih } : undefined),
    accept: (h) => resolve(h),
  });
  const port = await listener.listen(0, '127.0.0.1');
  return { port, accepted };
}

function message(id: number, payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length + 1);
  return Buffer.concat([len, Buffer.from([id]), payload]);
}

function u32s(...n: number[]): Buffer {
  const b = Buffer.alloc(4 * n.length);
  n.forEach((v, i) => {
    b.writeUInt32BE(v, 4 * i);
  });
  return b;
}

async function rawPeer(port: number, ...chunks: Buffer[]): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  s.on('error', () => {});
  s.resume(); // consume what we are sent, so the end of the stream is seen
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(handshakeBytes(INFOHASH));
  for (const c of chunks) s.write(c);
  return s;
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((r) => {
    if (s.destroyed || s.readableEnded) r();
    else s.once('close', () => r());
  });
}

describe('guarded wire', () => {
  it('refuses a length prefix past the limit, including one >= 2^31', async () => {
    for (const len of [0x00200000, 0x80000000]) {
      const { port, accepted } = await listen(100);
      const s = await rawPeer(port, u32s(len));
      const h = await accepted;
      expect(await violation(h.wire)).toBe('message-too-long');
      await closed(s);
      await listener?.close();
      listener = undefined;
    }
  });

  it('refuses a request longer than 128 KiB', async () => {
    const { port, accepted } = await listen(100);
    const s = await rawPeer(port, message(2, Buffer.alloc(0)), message(6, u32s(0, 0, 256 * 1024)));
    const h = await accepted;
    expect(await violation(h.wire)).toBe('request-too-long');
    await closed(s);
  });

  it('refuses a flood of outstanding requests', async () => {
    const { port, accepted } = await listen(100);
    const h0 = accepted.then((h) => {
      h.wire.unchoke(); // requests are queued only when unchoked
      h.wire.on('request', () => {}); // never answered
      return h;
    });
    const flood = Buffer.concat(Array.from({ length: 600 }, (_, i) => message(6, u32s(i % 100, 0, 16384))));
    const s = await rawPeer(port);
    const h = await h0;
    await new Promise((r) => setTimeout(r, 50));
    s.write(flood);
    expect(await violation(h.wire)).toBe('too-many-requests');
    await closed(s);
  });

  it('refuses a bitfield of the wrong size and a have past the last piece', async () => {
    const a = await listen(100);
    const s1 = await rawPeer(a.port, message(5, Buffer.alloc(20)));
    expect(await violation((await a.accepted).wire)).toBe('bad-bitfield');
    await closed(s1);
    await listener?.close();
    const b = await listen(100);
    const s2 = await rawPeer(b.port, message(4, u32s(100)));
    expect(await violation((await b.accepted).wire)).toBe('bad-have');
    await closed(s2);
  });

  it('drops unrequested blocks and bans a flood of them', async () => {
    const { port, accepted } = await listen(100);
    const block = message(7, Buffer.concat([u32s(1, 0), Buffer.alloc(16384)]));
    const s = await rawPeer(port, ...Array.from({ length: 200 }, () => block));
    const h = await accepted;
    const pieces: number[] = [];
    h.wire.on('piece', (i: number) => pieces.push(i));
    expect(await violation(h.wire)).toBe('unrequested-piece');
    expect(pieces).toEqual([]);
    await closed(s);
  });

  it('connects two honest wires and exchanges a block', async () => {
    const { port, accepted } = await listen(4);
    const serve = accepted.then((h) => {
      h.wire.on('interested', () => h.wire.unchoke());
      h.wire.on(
        'request',
        (i: number, off: number, len: number, cb: (e: Error | null, b?: Uint8Array) => void) =>
          cb(null, Buffer.alloc(len, i + off)),
      );
      h.wire.bitfield(Buffer.from([0xf0]));
      return h;
    });
    const other = Buffer.concat([Buffer.from('-DR0100-'), randomBytes(12)]).toString('hex');
    const out = await dialPeer(
      { host: '127.0.0.1', port },
      { infohash: INFOHASH, peerId: other, pieceCount: 4, setup: () => {} },
    );
    sockets.push(out.socket);
    await serve;
    out.wire.interested();
    await new Promise<void>((r) => out.wire.once('unchoke', () => r()));
    const block = await new Promise<Uint8Array>((resolve, reject) =>
      // A block is a view into the reused read buffer: valid during the callback only.
      out.wire.request(2, 0, 16384, (err, b) => (err || !b ? reject(err) : resolve(Buffer.from(b)))),
    );
    expect(block.length).toBe(16384);
    expect(block[0]).toBe(2);
    expect(out.wire.peerPieces.get(3)).toBe(true);
    out.wire.destroy();
  });

  it('rejects a dial that answers for another torrent', async () => {
    const { port } = await listen(4);
    await expect(
      dialPeer(
        { host: '127.0.0.1', port },
        { infohash: 'bb'.repeat(20), peerId: OUR_ID.replace(/^../, '00'), setup: () => {} },
      ),
    ).rejects.toThrow();
  });

  it('takes blocks of cancelled requests that cross the CANCEL as normal, not as abuse', async () => {
    // A raw seeder that answers every request even after it was cancelled (they crossed on the wire).
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.resume();
      s.write(handshakeBytes(INFOHASH));
      s.write(message(5, Buffer.alloc(25, 0xff).fill(0xfe, 24)));
      s.write(message(1, Buffer.alloc(0)));
      void released.then(() => {
        for (let i = 0; i < 198; i++)
          s.write(message(7, Buffer.concat([u32s(i, 0), Buffer.alloc(16384, 1)])));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const out = await dialPeer(
        { host: '127.0.0.1', port },
        { infohash: INFOHASH, peerId: OUR_ID, pieceCount: 199, setup: () => {} },
      );
      sockets.push(out.socket);
      if (out.wire.peerChoking) await new Promise<void>((r) => out.wire.once('unchoke', () => r()));
      for (let i = 0; i < 197; i++) out.wire.request(i, 0, 16384, () => {});
      for (let i = 0; i < 197; i++) out.wire.cancel(i, 0, 16384);
      // The last block is requested for real: once it arrives, all the cancelled ones before it did.
      const last = new Promise<Uint8Array>((resolve, reject) =>
        out.wire.request(197, 0, 16384, (err, b) => (err || !b ? reject(err) : resolve(Buffer.from(b)))),
      );
      release();
      expect((await last)[0]).toBe(1);
      expect(out.wire.violation).toBeUndefined();
      out.wire.destroy();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("measures an outgoing connection's round trip by its handshake (the first requests are sized by it)", async () => {
    const { port, accepted } = await listen(100);
    // A relay that holds every chunk 60 ms each way: a 120 ms round trip on loopback.
    const ONE_WAY_MS = 60;
    const relay = await startDelayRelay(port, ONE_WAY_MS);
    try {
      const out = await dialPeer(
        { host: '127.0.0.1', port: relay.port },
        // Another peer id than the listener's: the same one would be a connection to ourselves.
        { infohash: INFOHASH, peerId: randomBytes(20).toString('hex'), pieceCount: 100, setup: () => {} },
      );
      sockets.push(out.socket);
      expect(out.rttMs).toBeGreaterThanOrEqual(2 * ONE_WAY_MS - 5);
      // The side that answered has no round trip of its own to measure.
      expect((await accepted).rttMs).toBeUndefined();
    } finally {
      for (const s of sockets) s.destroy();
      await relay.close();
    }
  });
});

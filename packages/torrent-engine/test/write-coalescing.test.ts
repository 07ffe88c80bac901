// The wire's writes to its socket, on real loopback sockets: a turn's messages leave in one write,
// in order, and a slow reader pauses the writer instead of growing a buffer.
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { dialPeer, type Handshaken, PeerListener } from '../src/swarm/connect.js';
import { pumpCoalesced } from '../src/wire/write-coalescing.js';

const INFOHASH = 'cc'.repeat(20);
const peerId = () => Buffer.concat([Buffer.from('-DR0100-'), randomBytes(12)]).toString('hex');
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  // Last in, first out: sockets before the listener that waits for them.
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Counts the socket's trips to the kernel: each _write or _writev call is one syscall. */
function countWrites(socket: net.Socket): { calls: number; chunks: number } {
  const seen = { calls: 0, chunks: 0 };
  const s = socket as unknown as {
    _write: (...a: unknown[]) => void;
    _writev: (chunks: unknown[], cb: unknown) => void;
  };
  const write = s._write.bind(socket);
  const writev = s._writev.bind(socket);
  s._write = (...a) => {
    seen.calls++;
    seen.chunks++;
    write(...a);
  };
  s._writev = (chunks, cb) => {
    seen.calls++;
    seen.chunks += chunks.length;
    writev(chunks, cb);
  };
  return seen;
}

async function connectedPair(): Promise<{ ours: Handshaken; theirs: Handshaken }> {
  let accept!: (h: Handshaken) => void;
  const accepted = new Promise<Handshaken>((r) => {
    accept = r;
  });
  const listener = new PeerListener({
    peerId: peerId(),
    admit: () => true,
    route: (ih) => (ih === INFOHASH ? { setup: () => {}, pieceCount: 1000 } : undefined),
    accept: (h) => accept(h),
  });
  const port = await listener.listen(0, '127.0.0.1');
  cleanup.push(() => listener.close());
  const ours = await dialPeer(
    { host: '127.0.0.1', port },
    { infohash: INFOHASH, peerId: peerId(), pieceCount: 1000, setup: () => {} },
  );
  const theirs = await accepted;
  cleanup.push(() => {
    ours.socket.destroy();
    theirs.socket.destroy();
  });
  return { ours, theirs };
}

describe('wire writes', () => {
  it("sends a plan's 64 requests in one write, and the peer reads all 64 in order", async () => {
    const { ours, theirs } = await connectedPair();
    const unchoked = new Promise((r) => ours.wire.once('unchoke', r));
    theirs.wire.unchoke();
    await unchoked;
    const received: number[] = [];
    const all = new Promise<void>((resolve) => {
      theirs.wire.on('request', (index: number) => {
        received.push(index);
        if (received.length === 64) resolve();
      });
    });
    const writes = countWrites(ours.socket);
    for (let i = 0; i < 64; i++) ours.wire.request(i, 0, 16 * 1024, () => {});
    await all;
    expect(received).toEqual(Array.from({ length: 64 }, (_, i) => i));
    // One syscall for the turn (a pipe made 64), carrying every message.
    expect(writes).toEqual({ calls: 1, chunks: 64 });
  });

  it('pauses the source while the socket is full and delivers every byte once the reader reads', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const reader = await accepted;
    cleanup.push(() => {
      socket.destroy();
      reader.destroy();
    });
    reader.pause();

    const payload = randomBytes(32 * 1024 * 1024);
    const CHUNK = 16 * 1024;
    let offset = 0;
    let pauses = 0;
    const source = new Readable({
      read() {
        if (offset >= payload.length) this.push(null);
        else {
          this.push(payload.subarray(offset, offset + CHUNK));
          offset += CHUNK;
        }
      },
    });
    const pause = source.pause.bind(source);
    source.pause = () => {
      pauses++;
      return pause();
    };
    source.on('end', () => socket.end());
    pumpCoalesced(source, socket);

    // The reader reads nothing: the kernel's buffers fill, then the pump must stop the source.
    await new Promise((r) => setTimeout(r, 300));
    expect(pauses).toBeGreaterThan(0);
    expect(offset).toBeLessThan(payload.length);
    expect(socket.writableLength).toBeLessThanOrEqual(socket.writableHighWaterMark + CHUNK);
    // One drain listener while paused, not one per chunk already on its way.
    expect(socket.listenerCount('drain')).toBe(1);

    const got: Buffer[] = [];
    reader.on('data', (d: Buffer) => got.push(d));
    reader.resume();
    await new Promise((r) => reader.once('end', r));
    expect(Buffer.concat(got).equals(payload)).toBe(true);
  });
});

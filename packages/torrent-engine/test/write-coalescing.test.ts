// The wire's writes to its socket, on real loopback sockets: a turn's messages leave in one write,
// in order, a slow reader pauses the writer instead of growing a buffer, and every chunk goes back
// to the socket loans once the socket no longer needs it (so the seeding cache may reuse it).
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { dialPeer, type Handshaken, PeerListener } from '../src/swarm/connect.js';
import { SocketLoans } from '../src/wire/socket-loans.js';
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

/** A plain loopback connection: `socket` writes, `reader` is the far end. */
async function socketPair(): Promise<{ socket: net.Socket; reader: net.Socket }> {
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
  return { socket, reader };
}

async function connectedPair(): Promise<{ ours: Handshaken; theirs: Handshaken }> {
  let accept!: (h: Handshaken) => void;
  const accepted = new Promise<Handshaken>((r) => {
    accept = r;
  });
  const listener = new PeerListener({
    peerId: peerId(),
    admit: () => true,
    route: (ih) => (ih === INFOHASH ? { setup: () => {}, pieceCount: 1000, infohash: ih } : undefined),
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
    const { socket, reader } = await socketPair();
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

describe('socket loans', () => {
  const CHUNKS = 32;

  /**
   * A pump writing lent views of one 32 MiB buffer (more than loopback's kernel buffers take) to a
   * reader that reads nothing, 200 ms on: the socket is full and the pump has paused its source.
   */
  async function stalledPump(transform?: (c: Uint8Array) => Uint8Array) {
    const { socket, reader } = await socketPair();
    reader.pause();
    const loans = new SocketLoans();
    const CHUNK = 1024 * 1024;
    const buffer = new Uint8Array(CHUNKS * CHUNK).fill(7);
    const views = Array.from({ length: CHUNKS }, (_, i) => buffer.subarray(i * CHUNK, (i + 1) * CHUNK));
    for (const v of views) loans.lend(v.buffer);
    const source = Readable.from(views, { objectMode: true });
    pumpCoalesced(source, socket, transform, loans);
    let handed = 0;
    source.on('data', () => handed++);
    await new Promise((r) => setTimeout(r, 200));
    expect(handed).toBeGreaterThan(0);
    return {
      socket,
      reader,
      buffer,
      lent: () => loans.outstanding(buffer.buffer),
      notHanded: () => CHUNKS - handed,
    };
  }

  it.each([
    ['with no transform', undefined],
    // MSE with a plaintext payload: the same memory goes to the socket, so giving it back at once
    // would let the cache reuse it under the socket.
    ['when the transform passes it through (MSE, plaintext payload)', (c: Uint8Array) => c],
  ])('gives a chunk back once the socket has written it, not before, %s', async (_, transform) => {
    const { reader, buffer, lent, notHanded } = await stalledPump(transform);
    // Chunks the pump was handed are still queued on the socket: more are lent than the paused
    // source still holds.
    expect(lent()).toBeGreaterThan(notHanded());
    let got = 0;
    reader.on('data', (d: Buffer) => {
      got += d.length;
    });
    reader.resume();
    while (got < buffer.length) await new Promise((r) => setTimeout(r, 10));
    expect(lent()).toBe(0);
  });

  it('gives chunks back when the socket is destroyed with writes queued', async () => {
    const { socket, lent, notHanded } = await stalledPump();
    expect(lent()).toBeGreaterThan(notHanded());
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // Every chunk the pump was handed is back; those the paused source still holds stay lent
    // (their buffer is then never reused, only collected).
    expect(lent()).toBe(notHanded());
  });

  it('gives a chunk back as soon as a cipher has copied it', async () => {
    const { socket, lent, notHanded } = await stalledPump((c) => Buffer.from(c));
    // The socket is still full of the copies; the lent chunks themselves are all back.
    expect(socket.writableLength).toBeGreaterThan(0);
    expect(lent()).toBe(notHanded());
  });
});

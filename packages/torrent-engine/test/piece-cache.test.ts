// The seeding cache reuses piece buffers: never while a block lent out of one may still be read by
// a socket, and the write pump gives every block back once the kernel has it (real loopback
// sockets for the pump).
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PieceCache } from '../src/engine/piece-cache.js';
import { SocketLoans } from '../src/wire/socket-loans.js';
import { pumpCoalesced } from '../src/wire/write-coalescing.js';

const SIZE = 64 * 1024;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A cache of two pieces whose "disk" fills piece i with the byte i. */
function twoPieceCache(loans: SocketLoans, fail = new Set<number>()): { cache: PieceCache; reads: number[] } {
  const reads: number[] = [];
  const cache = new PieceCache(
    async (index, into) => {
      reads.push(index);
      await new Promise((r) => setImmediate(r));
      if (fail.has(index)) throw new Error(`disk error on piece ${index}`);
      into.fill(index);
    },
    2 * SIZE,
    loans,
  );
  return { cache, reads };
}

const filledWith = (view: Uint8Array, byte: number) => view.every((b) => b === byte);

describe('piece cache', () => {
  it('never reuses a buffer while a block of it is lent out; reuses it once the block is back', async () => {
    const loans = new SocketLoans();
    const { cache } = twoPieceCache(loans);
    const held = await cache.block(0, SIZE, 16384, 16384);
    // Pieces 1..9 push piece 0 out of the cache many times over; its block is still on a socket.
    for (let i = 1; i < 10; i++) loans.giveBack(await cache.block(i, SIZE, 0, 16384));
    expect(filledWith(held, 0)).toBe(true);
    const reusedBefore = cache.reused;
    expect(reusedBefore).toBeGreaterThan(0); // pieces 1..9 whose blocks came back were reused
    loans.giveBack(held);
    for (let i = 10; i < 20; i++) {
      const b = await cache.block(i, SIZE, 0, SIZE);
      expect(filledWith(b, i)).toBe(true);
      loans.giveBack(b);
    }
    expect(cache.reused).toBeGreaterThan(reusedBefore);
  });

  it('readers waiting on one read share it, and a failed read rejects each of them and is retried', async () => {
    const loans = new SocketLoans();
    const fail = new Set([3]);
    const { cache, reads } = twoPieceCache(loans, fail);
    const waiting = [cache.block(3, SIZE, 0, 100), cache.block(3, SIZE, 100, 100)];
    for (const w of waiting) await expect(w).rejects.toThrow(/disk error on piece 3/);
    expect(reads).toEqual([3]);
    fail.clear();
    const b = await cache.block(3, SIZE, 0, 100);
    expect(filledWith(b, 3)).toBe(true);
    expect(reads).toEqual([3, 3]);
    // The failed read's buffer went back to the spare list once both waiters gave it back.
    loans.giveBack(b);
    for (let i = 4; i < 8; i++) loans.giveBack(await cache.block(i, SIZE, 0, 100));
    expect(cache.reused).toBeGreaterThan(0);
  });
});

describe('write pump loans', () => {
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

  /** Lent views of one 32 MiB buffer (more than loopback's kernel buffers take), pushed through a pump. */
  function lentSource(loans: SocketLoans): { source: Readable; buffer: Uint8Array } {
    const CHUNK = 1024 * 1024;
    const buffer = new Uint8Array(32 * CHUNK).fill(7);
    const views = Array.from({ length: 32 }, (_, i) => buffer.subarray(i * CHUNK, (i + 1) * CHUNK));
    for (const v of views) loans.lend(v.buffer);
    return { source: Readable.from(views, { objectMode: true }), buffer };
  }

  it('gives a chunk back once the socket has written it, not before', async () => {
    const { socket, reader } = await socketPair();
    reader.pause();
    const loans = new SocketLoans();
    const { source, buffer } = lentSource(loans);
    pumpCoalesced(source, socket, undefined, loans);
    let handed = 0;
    source.on('data', () => handed++);
    await new Promise((r) => setTimeout(r, 200));
    // A reader that reads nothing: the kernel's buffers are full, chunks the pump was handed are
    // still queued on the socket, so more are lent than the source still holds.
    expect(handed).toBeGreaterThan(0);
    expect(loans.outstanding(buffer.buffer)).toBeGreaterThan(32 - handed);
    let got = 0;
    reader.on('data', (d: Buffer) => {
      got += d.length;
    });
    reader.resume();
    while (got < buffer.length) await new Promise((r) => setTimeout(r, 10));
    expect(loans.outstanding(buffer.buffer)).toBe(0);
  });

  it('gives chunks back when the socket is destroyed with writes queued, and when a cipher copies them', async () => {
    const { socket, reader } = await socketPair();
    reader.pause();
    const loans = new SocketLoans();
    const { source, buffer } = lentSource(loans);
    pumpCoalesced(source, socket, undefined, loans);
    let handed = 0;
    source.on('data', () => handed++);
    await new Promise((r) => setTimeout(r, 200));
    expect(loans.outstanding(buffer.buffer)).toBeGreaterThan(32 - handed);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // Every chunk the pump was handed is back; those the paused source still holds stay lent
    // (their buffer is then never reused, only collected).
    expect(loans.outstanding(buffer.buffer)).toBe(32 - handed);

    const other = await socketPair();
    other.reader.pause();
    const ciphered = lentSource(loans);
    pumpCoalesced(ciphered.source, other.socket, (c) => Buffer.from(c), loans);
    let encrypted = 0;
    ciphered.source.on('data', () => encrypted++);
    await new Promise((r) => setTimeout(r, 200));
    // The socket is still full of the copies; the lent chunks themselves are all back.
    expect(other.socket.writableLength).toBeGreaterThan(0);
    expect(encrypted).toBeGreaterThan(0);
    expect(loans.outstanding(ciphered.buffer.buffer)).toBe(32 - encrypted);
  });
});

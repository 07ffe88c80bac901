// A peer's requests are answered no faster than its connection takes the bytes: the gate alone
// (pure), then our engine seeding to a raw bittorrent-protocol peer on loopback that asks for
// 62.5 MiB and reads nothing for a while; and the memory queued for such a peer is never reused
// under it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import Wire from 'bittorrent-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddInput, Engine } from '../src/engine/engine.js';
import { UploadGate } from '../src/swarm/upload-gate.js';
import { MAX_PEER_REQUESTS, MAX_REQUEST_LENGTH } from '../src/wire/limits.js';
import { METHOD_PLAINTEXT, mseInitiate, newReader } from '../src/wire/mse/handshake.js';
import { EngineFleet } from './engine-fleet.js';
import { waitFor } from './peers/checks.js';
import { makeFiles, makeTorrent } from './peers/fixtures.js';

describe('upload gate', () => {
  /** A gate over a queue the test fills and drains by hand; `served` lists what was answered. */
  function gate(limit = 100) {
    let queued = 0;
    const served: number[] = [];
    const pending: (() => void)[] = [];
    const g = new UploadGate(() => queued, limit);
    const ask = (bytes: number, wanted?: () => boolean) =>
      g.submit(
        bytes,
        (done) => {
          served.push(bytes);
          pending.push(() => {
            queued += bytes; // the answer is in the wire now
            done();
          });
        },
        wanted,
      );
    const answerAll = () => {
      for (const p of pending.splice(0)) p();
    };
    const drain = (bytes: number) => {
      queued -= bytes;
      g.drained();
    };
    return { g, ask, answerAll, drain, served, queued: () => queued };
  }

  it('answers while the queue has room and holds the rest until the socket drains', () => {
    const t = gate(100);
    for (let i = 0; i < 10; i++) t.ask(30);
    // Three fit (90 being read); the fourth would make 120.
    expect(t.served).toEqual([30, 30, 30]);
    t.answerAll();
    expect(t.queued()).toBe(90);
    expect(t.served.length).toBe(3);
    t.drain(60);
    expect(t.served.length).toBe(5);
    expect(t.g.waitingCount).toBe(5);
  });

  it('skips a waiting request the peer no longer wants (cancelled, or discarded by a choke): nothing read', () => {
    const t = gate(60);
    const cancelled = new Set<number>();
    for (let i = 1; i <= 6; i++) t.ask(i * 10, () => !cancelled.has(i * 10));
    expect(t.served).toEqual([10, 20, 30]);
    t.answerAll();
    cancelled.add(40);
    cancelled.add(50);
    t.drain(60);
    expect(t.served).toEqual([10, 20, 30, 60]);
    expect(t.g.waitingCount).toBe(0);
  });

  it('lets an empty connection take one answer larger than the limit, and drops the waiting on close', () => {
    const t = gate(100);
    t.ask(500);
    t.ask(10);
    expect(t.served).toEqual([500]);
    t.answerAll();
    t.drain(500);
    expect(t.served).toEqual([500, 10]);
    t.ask(500);
    t.g.close();
    t.answerAll();
    t.drain(10);
    expect(t.served).toEqual([500, 10]);
    expect(t.g.waitingCount).toBe(0);
  });
});

describe('seeding to a peer that reads slowly', () => {
  const fleet = new EngineFleet('dream-upload-gate-');
  let engine: Engine;
  let file: string;
  let other: string;
  let third: string;
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });
  /** Bytes this process has read with read(2) and friends, files and sockets (/proc/self/io). */
  const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
  beforeAll(async () => {
    await fleet.setUp();
    [file, other, third] = (await makeFiles(join(fleet.dir, 'src'), [
      { path: 'big.bin', size: 64 * 1024 * 1024 },
      { path: 'other.bin', size: 64 * 1024 * 1024 },
      { path: 'third.bin', size: 96 * 1024 * 1024 },
    ])) as [string, string, string];
    engine = await fleet.engine('seeder', { trackers: false });
  });
  afterAll(() => fleet.tearDown());

  /**
   * A raw bittorrent-protocol peer, unchoked, that has stopped reading and asked for `count` blocks
   * of 128 KiB from the start of the file; 1.5 s on (the kernel's buffers, then the engine's own
   * queue, are full).
   */
  async function stalledPeer(count: number, input: AddInput = { path: file }, { mse = false } = {}) {
    const added = await engine.add(input);
    const pieceLength = added.pieceLength ?? 0;
    expect(pieceLength).toBeGreaterThan(0);
    const socket = net.connect(engine.port, '127.0.0.1');
    socket.on('error', () => {});
    const wire = new Wire();
    if (mse) {
      // MSE with a plaintext payload, as libtorrent dials by default.
      await new Promise((r) => socket.once('connect', r));
      const reader = newReader();
      const onData = (d: Buffer) => reader.push(d);
      socket.on('data', onData);
      const io = { reader, write: (b: Buffer) => void socket.write(b) };
      const result = await mseInitiate(io, added.infohash, METHOD_PLAINTEXT);
      socket.off('data', onData);
      expect(result.method).toBe('plaintext');
      if (result.leftover.length > 0) wire.write(result.leftover);
    }
    socket.pipe(wire).pipe(socket);
    cleanup.push(() => {
      wire.destroy();
      socket.destroy();
    });
    const handshaken = new Promise((r) => wire.once('handshake', r));
    wire.handshake(added.infohash, randomBytes(20));
    await handshaken;
    const unchoked = new Promise((r) => wire.once('unchoke', r));
    wire.interested();
    await unchoked;
    socket.pause();
    const blocks = new Map<number, Buffer>();
    const place = (i: number) => {
      const at = i * MAX_REQUEST_LENGTH;
      const piece = Math.floor(at / pieceLength);
      return { piece, offset: at - piece * pieceLength };
    };
    for (let i = 0; i < count; i++) {
      const { piece, offset } = place(i);
      wire.request(piece, offset, MAX_REQUEST_LENGTH, (err, block) => {
        if (!err && block) blocks.set(i, Buffer.from(block));
      });
    }
    await new Promise((r) => setTimeout(r, 1500));
    const answered = engine.torrent(added.infohash)?.uploaded ?? 0;
    const cancel = (i: number) => {
      const { piece, offset } = place(i);
      wire.cancel(piece, offset, MAX_REQUEST_LENGTH);
    };
    return { socket, blocks, answered, cancel, infohash: added.infohash };
  }

  /** A raw peer that downloads blocks [from, from + count) of 128 KiB, reading them as they come. */
  async function readingPeer(infohash: string, pieceLength: number, from: number, count: number) {
    const socket = net.connect(engine.port, '127.0.0.1');
    socket.on('error', () => {});
    const wire = new Wire();
    socket.pipe(wire).pipe(socket);
    cleanup.push(() => {
      wire.destroy();
      socket.destroy();
    });
    const handshaken = new Promise((r) => wire.once('handshake', r));
    wire.handshake(infohash, randomBytes(20));
    await handshaken;
    const unchoked = new Promise((r) => wire.once('unchoke', r));
    wire.interested();
    await unchoked;
    let got = 0;
    for (let i = from; i < from + count; i++) {
      const at = i * MAX_REQUEST_LENGTH;
      const piece = Math.floor(at / pieceLength);
      wire.request(piece, at - piece * pieceLength, MAX_REQUEST_LENGTH, (err) => {
        if (!err) got++;
      });
    }
    await waitFor(() => got === count, 30_000, "the reading peer's blocks");
  }

  it('queues a bounded amount for it, and every block it asked for arrives once it reads', async () => {
    const data = await readFile(file);
    const count = MAX_PEER_REQUESTS;
    const { socket, blocks, answered } = await stalledPeer(count);
    const asked = count * MAX_REQUEST_LENGTH; // 62.5 MiB
    // Answered = what the kernel took (loopback's send and receive buffers, a few MiB) plus the
    // gate's queue: 6.0 MiB here. Answering everything at once made it all 62.5 MiB.
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(16 * 1024 * 1024);
    expect(answered).toBeLessThan(asked / 4);

    socket.resume();
    await waitFor(() => blocks.size === count, 30_000, 'every block');
    for (let i = 0; i < count; i++) {
      const at = i * MAX_REQUEST_LENGTH;
      expect(blocks.get(i)?.equals(data.subarray(at, at + MAX_REQUEST_LENGTH))).toBe(true);
    }
  }, 60_000);

  it('reads nothing for the requests it cancels while they wait', async () => {
    const count = MAX_PEER_REQUESTS;
    const { socket, blocks, cancel } = await stalledPeer(count, { path: other });
    const kept = 200;
    const before = { rchar: rchar(), socket: socket.bytesRead };
    for (let i = kept; i < count; i++) cancel(i);
    socket.resume();
    await waitFor(() => blocks.size === kept, 30_000, 'the blocks still wanted');
    await new Promise((r) => setTimeout(r, 300));
    // This process's reads, less what the test's peer read from its socket: the engine's disk
    // reads (and a few small socket reads). Still wanted were at most 200 x 128 KiB = 25 MiB
    // (some answered before the cancel); reading every waiting request was ~56 MiB.
    const diskReads = rchar() - before.rchar - (socket.bytesRead - before.socket);
    expect(diskReads).toBeLessThan(32 * 1024 * 1024);
    expect(blocks.size).toBe(kept);
  }, 60_000);

  it('never reuses memory still queued for a slow peer whose payload is MSE plaintext, while another peer churns the cache', async () => {
    // Pieces of 128 KiB: each block is a whole cached span, so the one block left in the socket's
    // own queue when the kernel's buffers fill is all its span lends.
    const made = await makeTorrent({
      source: third,
      flavour: 'create-torrent',
      pieceLength: MAX_REQUEST_LENGTH,
    });
    const data = await readFile(third);
    const count = 384; // the first 48 MiB, more than loopback's kernel buffers take
    const { socket, blocks, infohash } = await stalledPeer(
      count,
      { torrent: made.torrent, path: third },
      { mse: true },
    );
    // The file's other 48 MiB go through the 8 MiB cache meanwhile: the span of the block queued
    // for the slow peer is evicted, and its buffer reused for another as soon as it is given back.
    await readingPeer(infohash, MAX_REQUEST_LENGTH, count, 384);
    socket.resume();
    await waitFor(() => blocks.size === count, 30_000, 'every block');
    const wrong: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * MAX_REQUEST_LENGTH;
      if (!blocks.get(i)?.equals(data.subarray(at, at + MAX_REQUEST_LENGTH))) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});

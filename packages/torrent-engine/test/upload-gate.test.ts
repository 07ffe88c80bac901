// A peer's requests are answered no faster than its connection takes the bytes: the gate alone
// (pure), then our engine seeding to a raw bittorrent-protocol peer on loopback that asks for
// 62.5 MiB and reads nothing for a while.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { createLogger } from '@dream/config';
import Wire from 'bittorrent-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { UploadGate } from '../src/swarm/upload-gate.js';
import { MAX_PEER_REQUESTS, MAX_REQUEST_LENGTH } from '../src/wire/limits.js';
import { makeFiles, makeTempDir, removeDir } from './peers/fixtures.js';

describe('upload gate', () => {
  /** A gate over a queue the test fills and drains by hand; `served` lists what was answered. */
  function gate(limit = 100) {
    let queued = 0;
    const served: number[] = [];
    const pending: (() => void)[] = [];
    const g = new UploadGate(() => queued, limit);
    const ask = (bytes: number) =>
      g.submit(bytes, (done) => {
        served.push(bytes);
        pending.push(() => {
          queued += bytes; // the answer is in the wire now
          done();
        });
      });
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
  let dir: string;
  let engine: Engine;
  let file: string;
  beforeAll(async () => {
    dir = await makeTempDir('dream-upload-gate-');
    [file] = (await makeFiles(join(dir, 'src'), [{ path: 'big.bin', size: 64 * 1024 * 1024 }])) as [string];
    engine = await Engine.start({
      outputDir: join(dir, 'out'),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 10,
      log: createLogger({ name: 'upload-gate-test', level: 'silent' }),
      trackers: false,
    });
  });
  afterAll(async () => {
    await engine?.stop();
    await removeDir(dir);
  });

  it('queues a bounded amount for it, and every block it asked for arrives once it reads', async () => {
    const added = await engine.add({ path: file });
    const pieceLength = added.pieceLength ?? 0;
    expect(pieceLength).toBeGreaterThan(0);
    const data = await readFile(file);
    const socket = net.connect(engine.port, '127.0.0.1');
    const wire = new Wire();
    socket.pipe(wire).pipe(socket);
    socket.on('error', () => {});
    const handshaken = new Promise((r) => wire.once('handshake', r));
    wire.handshake(added.infohash, randomBytes(20));
    await handshaken;
    const unchoked = new Promise((r) => wire.once('unchoke', r));
    wire.interested();
    await unchoked;

    // The reader stops reading; the kernel's buffers fill, then the engine's own queue.
    socket.pause();
    const count = MAX_PEER_REQUESTS;
    const blocks = new Map<number, Buffer>();
    const all = new Promise<void>((resolve, reject) => {
      for (let i = 0; i < count; i++) {
        const at = i * MAX_REQUEST_LENGTH;
        const piece = Math.floor(at / pieceLength);
        wire.request(piece, at - piece * pieceLength, MAX_REQUEST_LENGTH, (err, block) => {
          if (err || !block) return reject(err ?? new Error(`no block ${i}`));
          blocks.set(i, Buffer.from(block));
          if (blocks.size === count) resolve();
        });
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    const asked = count * MAX_REQUEST_LENGTH; // 62.5 MiB
    const answered = engine.torrent(added.infohash)?.uploaded ?? 0;
    // Answered = what the kernel took (loopback's send and receive buffers, a few MiB) plus the
    // gate's queue: 6.0 MiB here. Answering everything at once made it all 62.5 MiB.
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(16 * 1024 * 1024);
    expect(answered).toBeLessThan(asked / 4);

    socket.resume();
    await all;
    for (let i = 0; i < count; i++) {
      const at = i * MAX_REQUEST_LENGTH;
      expect(blocks.get(i)?.equals(data.subarray(at, at + MAX_REQUEST_LENGTH))).toBe(true);
    }
    wire.destroy();
    socket.destroy();
  }, 60_000);
});

// The reader over a torrent file, driven by a simulated engine that fetches only what registered
// readers' windows ask for (the scheduler's contract). The real engine is exercised end to end in
// the streaming tests; this one pins the reader's own promises: exact bytes, backpressure,
// cancellation, and a bounded readahead when the consumer pauses.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../src/bitfield.js';
import type { TorrentMeta } from '../src/metainfo/index.js';
import type { ReaderState } from '../src/scheduler/index.js';
import { createFileStream, type RegisteredReader, type StreamableTorrent } from '../src/stream/index.js';

const PIECE = 64 * 1024;

function fakeTorrent(size: number) {
  const data = randomBytes(size);
  const pieceCount = Math.ceil(size / PIECE);
  const have = new Bitfield(pieceCount);
  const events = new EventEmitter();
  const readers = new Map<string, RegisteredReader>();
  const meta = {
    infohash: 'a'.repeat(40),
    name: 'clip.mp4',
    pieceLength: PIECE,
    pieceCount,
    length: size,
    files: [{ index: 0, path: 'clip.mp4', length: size, offset: 0, pad: false }],
  } as unknown as TorrentMeta;
  const store = {
    have,
    isVerified: (p: number) => have.get(p),
    reads: [] as number[],
    async read(_file: number, offset: number, length: number) {
      store.reads.push(length);
      for (let p = Math.floor(offset / PIECE); p <= Math.floor((offset + length - 1) / PIECE); p++) {
        if (!have.get(p)) throw new Error(`read of unverified piece ${p}`);
      }
      return data.subarray(offset, offset + length);
    },
    on: (e: string, l: (index: number) => void) => events.on(e, l),
    off: (e: string, l: (index: number) => void) => events.off(e, l),
  };
  const torrent: StreamableTorrent = {
    infohash: meta.infohash,
    meta,
    store,
    paused: false,
    whenReady: async () => {},
    addReader(r) {
      readers.set(r.id, r);
      return () => readers.delete(r.id);
    },
    replan() {},
    selectForStreaming() {}, // every file is wanted here
    readCheckedBlocks: () => undefined, // v1: only verified pieces are read
    on: () => undefined,
    off: () => undefined,
  };
  /** The simulated engine: verify one wanted piece inside some reader's window, if any. */
  const fetchOne = (): boolean => {
    const windows = [...readers.values()].map((r) => r.state()).filter((s): s is ReaderState => !!s);
    for (const w of windows) {
      for (let p = Math.floor(w.start / PIECE); p * PIECE < w.end; p++) {
        if (!have.get(p)) {
          have.set(p);
          events.emit('piece', p);
          return true;
        }
      }
    }
    return false;
  };
  return { data, have, torrent, readers, fetchOne, meta, events, store };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('file stream over verified pieces', () => {
  it('delivers exactly [start, end], waiting for pieces as they are verified', async () => {
    const { data, torrent, fetchOne, meta } = fakeTorrent(PIECE * 20 + 1234);
    for (const [start, end] of [
      [0, 0],
      [0, 1],
      [PIECE - 1, PIECE],
      [12345, PIECE * 7 + 3],
      [data.length - 1, data.length - 1],
      [0, data.length - 1],
    ] as const) {
      const ac = new AbortController();
      const s = createFileStream(torrent, meta.files[0]!, start, end, ac.signal, {
        bytesPerSecond: 100_000,
        readaheadSeconds: 5,
      });
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      const done = new Promise((r, j) => {
        s.on('end', r);
        s.on('error', j);
      });
      let finished = false;
      void done.then(() => {
        finished = true;
      });
      while (!finished) {
        fetchOne();
        await tick();
      }
      expect(Buffer.concat(chunks).equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('a paused consumer stops the fetching at its window (plus at most one piece)', async () => {
    const { have, torrent, fetchOne, meta } = fakeTorrent(PIECE * 400);
    const ac = new AbortController();
    const bytesPerSecond = 64 * 1024;
    const s = createFileStream(torrent, meta.files[0]!, 0, meta.length - 1, ac.signal, {
      bytesPerSecond,
      readaheadSeconds: 10,
    });
    // Read 1 MiB, then stop reading (the player paused): no 'data' listener, backpressure holds.
    let read = 0;
    await new Promise<void>((resolve) => {
      const onReadable = () => {
        let c: Buffer | null;
        while (read < 1024 * 1024 && (c = s.read() as Buffer | null) !== null) read += c.length;
        if (read >= 1024 * 1024) {
          s.off('readable', onReadable);
          resolve();
        }
      };
      s.on('readable', onReadable);
      void (async () => {
        while (read < 1024 * 1024) {
          fetchOne();
          await tick();
        }
      })();
    });
    // Let the simulated engine fetch everything the windows still ask for.
    for (let i = 0; i < 1000 && fetchOne(); i++) await tick();
    const haveBytes = have.count() * PIECE;
    // The stream's own buffer (highWaterMark) sits between the player and the window, then the
    // window: 10 s x 64 KiB/s, raised to the 4 MiB floor.
    const windowCap = 4 * 1024 * 1024;
    const buffered = 256 * 1024 * 2;
    expect(haveBytes).toBeLessThanOrEqual(read + buffered + windowCap + PIECE);
    expect(haveBytes).toBeLessThan(meta.length / 4);
    ac.abort();
  });

  it('starts with a small read and doubles it: a player that hangs up after a few KiB costs little', async () => {
    const { torrent, meta, store, fetchOne } = fakeTorrent(PIECE * 20);
    const s = createFileStream(torrent, meta.files[0]!, 0, meta.length - 1, new AbortController().signal, {
      bytesPerSecond: 1e6,
      readaheadSeconds: 5,
    });
    s.resume();
    for (let i = 0; i < 40; i++) {
      fetchOne();
      await tick();
    }
    s.destroy();
    expect(store.reads[0]).toBe(16 * 1024);
    expect(store.reads[1]).toBe(32 * 1024);
    // Then whole 64 KiB pieces here (a read never crosses a piece; the cap, 256 KiB, is larger).
    expect(store.reads.slice(2, 6)).toEqual([PIECE - 48 * 1024, PIECE, PIECE, PIECE]);
  });

  it('an aborted reader unregisters its window at once', async () => {
    const { torrent, readers, meta } = fakeTorrent(PIECE * 10);
    const ac = new AbortController();
    const s = createFileStream(torrent, meta.files[0]!, 0, meta.length - 1, ac.signal, {
      bytesPerSecond: 1e6,
      readaheadSeconds: 5,
    });
    s.resume();
    expect(readers.size).toBe(1);
    ac.abort();
    await tick();
    expect(readers.size).toBe(0);
    expect(s.destroyed).toBe(true);
  });

  it('a reader waiting for a piece ends with an error when the torrent stops, and unregisters', async () => {
    const { torrent, readers, meta, events } = fakeTorrent(PIECE * 10);
    const s = createFileStream(torrent, meta.files[0]!, 0, meta.length - 1, new AbortController().signal, {
      bytesPerSecond: 1e6,
      readaheadSeconds: 5,
    });
    const failed = new Promise<Error>((resolve) => s.on('error', resolve));
    s.resume(); // waits for piece 0, which never comes
    await tick();
    events.emit('closed'); // the store closed: the torrent was stopped or removed
    expect((await failed).message).toContain('stopped or removed');
    expect(readers.size).toBe(0);
    expect(events.listenerCount('piece') + events.listenerCount('verified')).toBe(0);
  });
});

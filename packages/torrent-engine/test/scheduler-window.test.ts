// The reader-side policy: readahead window, priming the head and tail of a file, bit rate guesses,
// and the division of a global budget between torrents.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BYTES_PER_SECOND,
  divideBudget,
  estimateBytesPerSecond,
  outstandingFor,
  PRIME_CAP_BYTES,
  PRIME_FLOOR_BYTES,
  planRequests,
  primePieces,
  primeRanges,
  primeReaders,
  ReadaheadWindow,
  STREAM_HEADROOM,
} from '../src/scheduler/index.js';
import { bits, KIB, MIB, peer, snap } from './scheduler-fixtures.js';

const GIB = 1024 * MIB;

function window(o: Partial<ConstructorParameters<typeof ReadaheadWindow>[0]> = {}) {
  return new ReadaheadWindow({
    fileOffset: 10 * MIB,
    fileLength: 1 * GIB,
    pieceLength: 1 * MIB,
    bytesPerSecond: 1 * MIB,
    ...o,
  });
}

describe('ReadaheadWindow', () => {
  it('starts at 2 s of media, grows to twice what was read contiguously, up to 30 s', () => {
    const w = window();
    expect(w.fullSize).toBe(30 * MIB);
    expect(w.size).toBe(2 * MIB);
    let pos = 0;
    const sizes: number[] = [];
    for (let i = 0; i < 40; i++) {
      w.read(pos, 512 * KIB, i);
      pos += 512 * KIB;
      sizes.push(w.size);
    }
    expect(sizes[0]).toBe(2 * MIB);
    expect(sizes[3]).toBe(4 * MIB); // 2 MiB read
    expect(sizes.every((s, i) => i === 0 || s >= sizes[i - 1]!)).toBe(true);
    expect(sizes.at(-1)).toBe(30 * MIB);
    expect(w.range()).toEqual({ start: 20 * MIB, end: 50 * MIB });
  });

  it('shrinks back to the start size on a seek and grows again', () => {
    const w = window();
    for (let pos = 0; pos < 20 * MIB; pos += MIB) w.read(pos, MIB, 0);
    expect(w.size).toBe(30 * MIB);
    w.read(700 * MIB, 64 * KIB, 1); // far outside the window: a seek
    expect(w.size).toBe(2 * MIB);
    expect(w.position).toBe(700 * MIB + 64 * KIB);
    w.seek(100 * MIB);
    expect(w.range()).toEqual({ start: 100 * MIB, end: 102 * MIB });
  });

  it('treats a read ahead inside the window or a small step back as contiguous', () => {
    const w = window();
    for (let pos = 0; pos < 8 * MIB; pos += MIB) w.read(pos, MIB, 0);
    const size = w.size;
    w.read(w.position + 3 * MIB, 64 * KIB, 1); // skipped a little, still inside the window
    expect(w.size).toBeGreaterThanOrEqual(size);
    w.read(w.position - 100 * KIB, 10 * KIB, 2); // re-read a header just behind
    expect(w.size).toBeGreaterThanOrEqual(size);
  });

  it('a paused reader keeps its window: no time passing moves or grows it', () => {
    const w = window();
    for (let pos = 0; pos < 4 * MIB; pos += MIB) w.read(pos, MIB, 1000);
    const before = w.reader('r');
    expect(w.idleMs(31_000)).toBe(30_000);
    expect(w.reader('r')).toEqual(before);
  });

  it('maps to a planner reader in torrent space, bounded by the file and the range end', () => {
    const w = window({ fileLength: 5 * MIB, end: 3 * MIB, position: 2 * MIB });
    expect(w.reader('r')).toEqual({
      id: 'r',
      start: 12 * MIB,
      end: 13 * MIB,
      playhead: 12 * MIB,
      bytesPerSecond: MIB,
    });
    w.read(2 * MIB, MIB, 0);
    expect(w.range()).toEqual({ start: 3 * MIB, end: 3 * MIB }); // done: an empty window
  });

  it('applies floor and cap, and never starts below one piece', () => {
    expect(window({ bytesPerSecond: 10 * KIB }).fullSize).toBe(4 * MIB); // floor
    expect(window({ bytesPerSecond: 50 * MIB }).fullSize).toBe(128 * MIB); // cap
    expect(window({ pieceLength: 16 * MIB }).startSize).toBe(16 * MIB);
    expect(window({ pieceLength: 16 * MIB }).fullSize).toBe(30 * MIB);
    expect(window({ readaheadSeconds: 5 }).fullSize).toBe(5 * MIB);
  });

  it('rejects a zero rate with a precise message', () => {
    expect(() => window({ bytesPerSecond: 0 })).toThrow(/bytesPerSecond 0 must be > 0/);
  });

  it('drives the planner: a paused reader with a downloaded window gets nothing more', () => {
    const pieceLength = 64 * KIB;
    const w = new ReadaheadWindow({
      fileOffset: 0,
      fileLength: 64 * pieceLength,
      pieceLength,
      bytesPerSecond: 64 * KIB,
      floorBytes: 4 * pieceLength,
      readaheadSeconds: 4,
    });
    w.read(0, 4 * pieceLength, 0);
    const { start, end } = w.range();
    const windowPieces: number[] = [];
    for (let p = Math.floor(start / pieceLength); p * pieceLength < end; p++) windowPieces.push(p);
    const have = bits(64);
    for (let p = 0; p < 4; p++) have.set(p);
    for (const p of windowPieces) have.set(p);
    const plan = planRequests(
      snap({
        pieceCount: 64,
        pieceLength,
        have,
        peers: [peer('a', { pieces: 64 })],
        readers: [w.reader('r')],
        background: false,
      }),
    );
    expect(plan.requests).toEqual([]);
  });
});

describe('priming the head and tail of a file', () => {
  it.each([
    // [file length, bytes at each end]
    [100 * KIB, 100 * KIB], // smaller than the floor: the whole file
    [10 * MIB, PRIME_FLOOR_BYTES], // 1% = 100 KiB < floor
    [100 * MIB, 1 * MIB], // 1%
    [4 * GIB, PRIME_CAP_BYTES], // 1% = 41 MiB > cap
  ])('a file of %d bytes primes %d bytes at each end', (length, size) => {
    const ranges = primeRanges({ offset: 0, length });
    const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
    expect(total).toBe(Math.min(length, 2 * size));
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(length);
  });

  it('gives the pieces of both ends, in torrent coordinates', () => {
    expect(primePieces({ offset: 3 * MIB + 100, length: 100 * MIB }, MIB)).toEqual([3, 4, 102, 103]);
    expect(primePieces({ offset: 0, length: 0 }, MIB)).toEqual([]);
  });

  it('as planner readers, both ends are requested first, each end piece whole', () => {
    const pieceLength = 256 * KIB;
    const blocks = pieceLength / (16 * KIB);
    const length = 100 * pieceLength;
    const readers = primeReaders({ offset: 0, length }, MIB);
    expect(readers.map((r) => r.id)).toEqual(['prime:head', 'prime:tail']);
    const plan = planRequests(
      snap({
        pieceCount: 100,
        pieceLength,
        peers: [peer('a', { pieces: 100, maxOutstanding: 2 * blocks })],
        readers,
        background: false,
      }),
    );
    // Both are due now; a piece is served only once whole, so one piece goes whole, then the other.
    expect(plan.requests.map((r) => r.piece)).toEqual([...Array(blocks).fill(0), ...Array(blocks).fill(99)]);
  });

  it('a head prime shorter than a piece still gets its whole first piece before the last piece', () => {
    // 1% of a 96 MiB file is less than its 1 MiB piece: the head prime ends at byte 1,006,633.
    // The player waits for piece 0 whole (its bytes are served only once it is verified), so the
    // blocks past the prime's end are due with the rest of the piece, not after the last piece
    // (measured before: piece 0 completed after piece 95, the first byte came 2 MiB late).
    const length = 96 * MIB;
    const blocks = MIB / (16 * KIB);
    const readers = primeReaders({ offset: 0, length }, MIB, 'prime', MIB);
    expect(readers[0]).toMatchObject({ id: 'prime:head', end: 1_006_633 });
    const player = { id: 'player', start: 0, end: 64 * KIB, playhead: 0, bytesPerSecond: MIB };
    const plan = planRequests(
      snap({
        pieceCount: 96,
        pieceLength: MIB,
        peers: [peer('a', { pieces: 96, maxOutstanding: 2 * blocks, downloadRate: 8 * MIB })],
        readers: [...readers, player],
        background: false,
      }),
    );
    const pieces = plan.requests.map((r) => r.piece);
    expect(pieces.slice(0, blocks)).toEqual(Array(blocks).fill(0));
    expect(pieces.slice(blocks)).toEqual(Array(blocks).fill(95));
  });

  it("given the piece length: the head's first piece, then the last piece, then the rest of both ends", () => {
    const pieceLength = 256 * KIB;
    const blocks = pieceLength / (16 * KIB);
    // 100 MiB: 1 MiB (four pieces) at each end.
    const readers = primeReaders({ offset: 0, length: 400 * pieceLength }, MIB, 'prime', pieceLength);
    expect(readers.map((r) => r.id)).toEqual([
      'prime:head',
      'prime:tail',
      'prime:head-rest',
      'prime:tail-rest',
    ]);
    // A player reading from the start wants piece 1 right after piece 0: the last piece still goes first.
    const player = { id: 'player', start: 0, end: 8 * pieceLength, playhead: 0, bytesPerSecond: MIB };
    const plan = planRequests(
      snap({
        pieceCount: 400,
        pieceLength,
        peers: [peer('a', { pieces: 400, maxOutstanding: 2 * blocks + 8 })],
        readers: [...readers, player],
        background: false,
      }),
    );
    const pieces = plan.requests.map((r) => r.piece);
    expect(pieces.slice(0, blocks)).toEqual(Array(blocks).fill(0));
    expect(pieces.slice(blocks, 2 * blocks)).toEqual(Array(blocks).fill(399));
    // Then piece 1 (the player's and head-rest's) and piece 396 (tail-rest's) are due together:
    // piece 1 whole first, as a player reading on needs it.
    expect(pieces.slice(2 * blocks)).toEqual(Array(8).fill(1));
  });
});

describe('estimateBytesPerSecond', () => {
  it.each([
    [{ length: 600 * MIB, durationSeconds: 600 }, 1.25 * MIB], // known duration, VBR headroom
    [{ length: 1 * MIB, durationSeconds: 3600 }, 32 * KIB], // implausibly low: the minimum
    [{ length: 200 * MIB }, DEFAULT_BYTES_PER_SECOND], // small file: the default is the safer guess
    [{ length: 36 * GIB }, (36 * GIB) / 7200], // a remux: size over two hours
    [{}, DEFAULT_BYTES_PER_SECOND],
  ])('%o -> %d B/s', (file, expected) => {
    expect(estimateBytesPerSecond(file)).toBeCloseTo(expected, 6);
  });
});

describe('divideBudget', () => {
  it('gives streams their rate with headroom first, the rest evenly to every active torrent', () => {
    const shares = divideBudget(10 * MIB, [
      { id: 'stream', streamingRate: 2 * MIB, background: false },
      { id: 'download', streamingRate: 0, background: true },
      { id: 'idle', streamingRate: 0, background: false },
    ]);
    const streamNeed = 2 * MIB * STREAM_HEADROOM;
    const rest = (10 * MIB - streamNeed) / 2;
    expect(shares.get('stream')).toBeCloseTo(streamNeed + rest);
    expect(shares.get('download')).toBeCloseTo(rest);
    expect(shares.get('idle')).toBe(0);
  });

  it('is max-min fair between streams when the budget is short', () => {
    const shares = divideBudget(4 * MIB, [
      { id: 'small', streamingRate: 0.5 * MIB, background: false },
      { id: 'big1', streamingRate: 4 * MIB, background: false },
      { id: 'big2', streamingRate: 4 * MIB, background: true },
    ]);
    expect(shares.get('small')).toBeCloseTo(0.75 * MIB);
    expect(shares.get('big1')).toBeCloseTo(1.625 * MIB);
    expect(shares.get('big2')).toBeCloseTo(1.625 * MIB);
    const sum = [...shares.values()].reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(4 * MIB);
  });

  it('passes an unlimited budget through and turns shares into request counts', () => {
    const shares = divideBudget(Number.POSITIVE_INFINITY, [{ id: 'a', streamingRate: 0, background: true }]);
    expect(shares.get('a')).toBe(Number.POSITIVE_INFINITY);
    expect(outstandingFor(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(outstandingFor(1 * MIB)).toBe(64);
    expect(outstandingFor(0)).toBe(2);
  });
});

// The seeding cache reads pieces in spans of at most 1 MiB, and reuses their buffers, never while a
// block lent out of one may still be read by a socket (the write pump's side of the loans is in
// write-coalescing.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PIECE_CACHE_BYTES, PieceCache, SPAN_BYTES } from '../src/engine/piece-cache.js';
import { SocketLoans } from '../src/wire/socket-loans.js';

const SIZE = 64 * 1024;

/** A cache of two pieces whose "disk" fills piece i with the byte i. */
function twoPieceCache(loans: SocketLoans, fail = new Set<number>()): { cache: PieceCache; reads: number[] } {
  const reads: number[] = [];
  const cache = new PieceCache(
    async (index, _begin, into) => {
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

  it('reads a piece larger than a span one span at a time: peers on different big pieces do not re-read them', async () => {
    const PIECE = 16 * 1024 * 1024;
    const BLOCK = 16 * 1024;
    const loans = new SocketLoans();
    const reads: { index: number; begin: number; length: number }[] = [];
    // The "disk": byte k of piece i is (i * 7 + k) & 0xff.
    const cache = new PieceCache(
      async (index, begin, into) => {
        reads.push({ index, begin, length: into.length });
        await new Promise((r) => setImmediate(r));
        for (let k = 0; k < into.length; k++) into[k] = (index * 7 + begin + k) & 0xff;
      },
      PIECE_CACHE_BYTES,
      loans,
    );
    const expected = (index: number, begin: number, length: number) =>
      Uint8Array.from({ length }, (_, k) => (index * 7 + begin + k) & 0xff);
    // Three peers, each fetching its own 16 MiB piece block by block, their requests interleaved:
    // cached whole, each piece pushed the others out of the 8 MiB cache at every turn.
    for (let begin = 0; begin < PIECE; begin += BLOCK) {
      for (const index of [2, 5, 9]) {
        const b = await cache.block(index, PIECE, begin, BLOCK);
        if (begin % SPAN_BYTES === 0 || begin === PIECE - BLOCK)
          expect(Buffer.from(b).equals(expected(index, begin, BLOCK))).toBe(true);
        loans.giveBack(b);
      }
    }
    const readBytes = reads.reduce((sum, r) => sum + r.length, 0);
    expect(readBytes).toBe(3 * PIECE); // each byte read once
    expect(Math.max(...reads.map((r) => r.length))).toBe(SPAN_BYTES);
    // A request across a span boundary is read on its own, exactly.
    const across = await cache.block(5, PIECE, SPAN_BYTES - 100, 200);
    expect(Buffer.from(across).equals(expected(5, SPAN_BYTES - 100, 200))).toBe(true);
    expect(reads.at(-1)).toEqual({ index: 5, begin: SPAN_BYTES - 100, length: 200 });
    // The last piece, shorter than the others: its last span is what is left of it.
    const lastSize = 2 * SPAN_BYTES + 1000;
    const tail = await cache.block(40, lastSize, 2 * SPAN_BYTES + 500, 500);
    expect(Buffer.from(tail).equals(expected(40, 2 * SPAN_BYTES + 500, 500))).toBe(true);
    expect(reads.at(-1)).toEqual({ index: 40, begin: 2 * SPAN_BYTES, length: 1000 });
  });

  it('property: any requests, blocks given back in any order: every view holds its bytes until given back', async () => {
    // Pieces of 3 MiB + 5000 (three full spans and a short one) and a short last piece; requests
    // of any offset and length up to 128 KiB, some across span boundaries; each view is held for a
    // while (on a socket) and given back in a random order. A buffer reused too early would change
    // a held view's bytes.
    const PIECE = 3 * SPAN_BYTES + 5000;
    const LAST = SPAN_BYTES + 77;
    const pieceSize = (index: number) => (index === 7 ? LAST : PIECE);
    const byteAt = (index: number, at: number) => (index * 31 + at * 7 + (at >> 13)) & 0xff;
    const request = fc
      .record({
        index: fc.integer({ min: 0, max: 7 }),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        length: fc.integer({ min: 1, max: 128 * 1024 }),
      })
      .map(({ index, at, length }) => {
        const size = pieceSize(index);
        const len = Math.min(length, size);
        return { index, begin: Math.floor(at * (size - len)), length: len };
      });
    const step = fc.record({ request, hold: fc.integer({ min: 0, max: 6 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const loans = new SocketLoans();
        const cache = new PieceCache(
          async (index, begin, into) => {
            await new Promise((r) => setImmediate(r));
            for (let k = 0; k < into.length; k++) into[k] = byteAt(index, begin + k);
          },
          4 * SPAN_BYTES,
          loans,
        );
        const held: { view: Uint8Array; index: number; begin: number; due: number }[] = [];
        const intact = (h: (typeof held)[number]) =>
          h.view.every((b, k) => b === byteAt(h.index, h.begin + k));
        for (const [turn, { request: r, hold }] of steps.entries()) {
          const view = await cache.block(r.index, pieceSize(r.index), r.begin, r.length);
          held.push({ view, index: r.index, begin: r.begin, due: turn + hold });
          for (const h of held.filter((x) => x.due <= turn)) {
            if (!intact(h)) return false;
            loans.giveBack(h.view);
            held.splice(held.indexOf(h), 1);
          }
        }
        return held.every(intact);
      }),
      { numRuns: 60 },
    );
  });
});

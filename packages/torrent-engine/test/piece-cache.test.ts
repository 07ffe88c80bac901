// The seeding cache reuses piece buffers, never while a block lent out of one may still be read by
// a socket (the write pump's side of the loans is in write-coalescing.test.ts).
import { describe, expect, it } from 'vitest';
import { PieceCache } from '../src/engine/piece-cache.js';
import { SocketLoans } from '../src/wire/socket-loans.js';

const SIZE = 64 * 1024;

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

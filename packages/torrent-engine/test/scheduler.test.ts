import { describe, expect, it } from 'vitest';
import type { PieceBits } from '../src/scheduler/index.js';
import { planRequests } from '../src/scheduler/index.js';

const bits = (n: number, set: number[] = []): PieceBits => ({ length: n, get: (i) => set.includes(i) });
const all = (n: number): PieceBits => ({ length: n, get: (i) => i >= 0 && i < n });

describe('planRequests', () => {
  it('requests every block of a wanted piece from the peer that has it', () => {
    const plan = planRequests({
      now: 0,
      pieceCount: 2,
      pieceLength: 32768,
      blockSize: 16384,
      totalLength: 40000,
      have: bits(2),
      wanted: all(2),
      partial: new Map(),
      inFlight: [],
      peers: [
        {
          id: 'a',
          has: all(2),
          chokingUs: false,
          downloadRate: 0,
          outstanding: 0,
          maxOutstanding: 10,
          snubbed: false,
        },
      ],
      readers: [],
    });
    expect(plan.requests.map((r) => [r.piece, r.begin, r.length])).toEqual([
      [0, 0, 16384],
      [0, 16384, 16384],
      [1, 0, 7232],
    ]);
  });
});

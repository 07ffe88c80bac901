// src/swarm-policy: which peers the scheduler treats as costly, and when a streaming torrent
// fetches in the background.
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../src/bitfield.js';
import { READER_IDLE_MS, SEED_COST, SwarmPolicy, TRADING_OUTSTANDING } from '../src/swarm-policy/index.js';

function bits(n: number, set: number[]): Bitfield {
  const b = new Bitfield(n);
  for (const i of set) b.set(i);
  return b;
}
const all = (n: number) => bits(n, [...Array(n).keys()]);

describe('SwarmPolicy.cost', () => {
  it('a peer complete whenever we saw it (the origin) is costly; a viewer is not', () => {
    const p = new SwarmPolicy();
    expect(p.cost({ key: {}, has: all(8) })).toBe(SEED_COST);
    expect(p.cost({ key: {}, has: bits(8, [1, 2]) })).toBe(1);
  });

  it('a viewer that finishes while we watch stays cheap', () => {
    const p = new SwarmPolicy();
    const key = {};
    expect(p.cost({ key, has: bits(4, [0]) })).toBe(1);
    expect(p.cost({ key, has: all(4) })).toBe(1);
  });
});

describe('SwarmPolicy.background', () => {
  const reader = (playhead: number) => ({
    id: 'r',
    start: playhead,
    end: playhead + 100,
    playhead,
    bytesPerSecond: 10,
  });

  it('no reader: everything in the background; paused torrent: nothing', () => {
    const p = new SwarmPolicy();
    expect(p.background({ paused: false, readers: 0, partialPeers: 0, now: 0 })).toEqual({
      background: true,
    });
    expect(p.background({ paused: true, readers: 0, partialPeers: 3, now: 0 })).toEqual({
      background: false,
    });
  });

  it('streaming: window only, by default even among fellow viewers', () => {
    const p = new SwarmPolicy();
    p.noteReader('r', reader(0), 0);
    expect(p.background({ paused: false, readers: 1, partialPeers: 2, now: 10 })).toEqual({
      background: false,
    });
  });

  it('with trading on: a little background while playing among viewers, none once the player stops', () => {
    const p = new SwarmPolicy({ tradeWhileStreaming: true });
    p.noteReader('r', reader(0), 0);
    p.noteReader('r', reader(50), 1_000);
    expect(p.background({ paused: false, readers: 1, partialPeers: 2, now: 1_500 })).toEqual({
      background: true,
      maxBackgroundOutstanding: TRADING_OUTSTANDING,
    });
    // Only seeds around: no one to trade with.
    expect(p.background({ paused: false, readers: 1, partialPeers: 0, now: 1_500 })).toEqual({
      background: false,
    });
    // The same window pushed again (player paused): the playhead has not moved.
    p.noteReader('r', reader(50), 2_000);
    expect(
      p.background({ paused: false, readers: 1, partialPeers: 2, now: 1_000 + READER_IDLE_MS + 1 }),
    ).toEqual({
      background: false,
    });
    p.noteReader('r', undefined, 5_000);
    expect(p.readingNow(5_000)).toBe(false);
  });
});

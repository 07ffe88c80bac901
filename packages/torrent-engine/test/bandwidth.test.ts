// The engine's division of its download bandwidth between torrents (engine/bandwidth.ts and
// scheduler/budget.ts budgetTotal), with recording torrents in place of real ones: what total is
// divided, who gets what, and what a torrent with nothing to fetch is given.
import { describe, expect, it } from 'vitest';
import { type BudgetedTorrent, MIN_SHARE, shareBandwidth } from '../src/engine/bandwidth.js';
import { budgetTotal, STREAM_HEADROOM, type TorrentDemand } from '../src/scheduler/index.js';

const MiB = 1024 * 1024;

function torrent(
  id: string,
  streamingRate: number,
  background: boolean,
): BudgetedTorrent & { share?: number } {
  const t: BudgetedTorrent & { share?: number } = {
    demand: (): TorrentDemand => ({ id, streamingRate, background }),
    setShare(bytesPerSecond) {
      t.share = bytesPerSecond;
    },
  };
  return t;
}

describe('budgetTotal', () => {
  it('is the configured download limit, and no division without one', () => {
    expect(budgetTotal(3 * MiB)).toBe(3 * MiB);
    expect(budgetTotal(0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('shareBandwidth', () => {
  it('gives a stream its rate with headroom before a download, under a limit', () => {
    const s = torrent('s', MiB, false);
    const d = torrent('d', 0, true);
    shareBandwidth(4 * MiB, [s, d]);
    const rest = (4 * MiB - MiB * STREAM_HEADROOM) / 2;
    expect(s.share).toBeCloseTo(MiB * STREAM_HEADROOM + rest);
    expect(d.share).toBeCloseTo(rest);
  });

  it('leaves a torrent with nothing to fetch uncapped, and a starved one a trickle', () => {
    const idle = torrent('idle', 0, false);
    const s1 = torrent('s1', 4 * MiB, false);
    const s2 = torrent('s2', 4 * MiB, false);
    const d = torrent('d', 0, true);
    shareBandwidth(2 * MiB, [idle, s1, s2, d]);
    expect(idle.share).toBe(Number.POSITIVE_INFINITY);
    expect(s1.share).toBeCloseTo(MiB);
    expect(s2.share).toBeCloseTo(MiB);
    expect(d.share).toBe(MIN_SHARE);
  });

  it('caps nobody without a download limit, and lifts shares when the limit is removed', () => {
    const s = torrent('s', MiB, false);
    const d = torrent('d', 0, true);
    shareBandwidth(3 * MiB, [s, d]);
    expect(Number.isFinite(s.share!)).toBe(true);
    expect(Number.isFinite(d.share!)).toBe(true);
    shareBandwidth(0, [s, d]);
    expect(s.share).toBe(Number.POSITIVE_INFINITY);
    expect(d.share).toBe(Number.POSITIVE_INFINITY);
  });
});

// The engine's division of its download bandwidth between torrents (engine/bandwidth.ts and
// scheduler/budget.ts budgetTotal), with recording torrents in place of real ones: what total is
// divided, who gets what, and what a torrent with nothing to fetch is given.
import { describe, expect, it } from 'vitest';
import { BandwidthBudget, type BudgetedTorrent, MIN_SHARE, PEAK_WINDOW_S } from '../src/engine/bandwidth.js';
import { budgetTotal, PROBE_HEADROOM, STREAM_HEADROOM, type TorrentDemand } from '../src/scheduler/index.js';

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
  const stream = { id: 's', streamingRate: MiB, background: false };
  const download = { id: 'd', streamingRate: 0, background: true };

  it('is the configured download limit whenever there is one', () => {
    expect(budgetTotal(3 * MiB, 10 * MiB, [download])).toBe(3 * MiB);
    expect(budgetTotal(3 * MiB, 0, [stream, download])).toBe(3 * MiB);
  });

  it('without a limit, divides only when a stream competes with another torrent', () => {
    expect(budgetTotal(0, 10 * MiB, [download])).toBe(Number.POSITIVE_INFINITY);
    expect(budgetTotal(0, 10 * MiB, [download, { ...download, id: 'd2' }])).toBe(Number.POSITIVE_INFINITY);
    expect(budgetTotal(0, 10 * MiB, [stream])).toBe(Number.POSITIVE_INFINITY);
    expect(budgetTotal(0, 10 * MiB, [stream, download])).toBe(10 * MiB * PROBE_HEADROOM);
    // Nothing measured yet: no basis for a division.
    expect(budgetTotal(0, 0, [stream, download])).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('BandwidthBudget', () => {
  it('gives a stream its rate with headroom before a download, under a limit', () => {
    const b = new BandwidthBudget();
    const s = torrent('s', MiB, false);
    const d = torrent('d', 0, true);
    b.apply(4 * MiB, [s, d]);
    const rest = (4 * MiB - MiB * STREAM_HEADROOM) / 2;
    expect(s.share).toBeCloseTo(MiB * STREAM_HEADROOM + rest);
    expect(d.share).toBeCloseTo(rest);
  });

  it('leaves a torrent with nothing to fetch uncapped, and a starved one a trickle', () => {
    const b = new BandwidthBudget();
    const idle = torrent('idle', 0, false);
    const s1 = torrent('s1', 4 * MiB, false);
    const s2 = torrent('s2', 4 * MiB, false);
    const d = torrent('d', 0, true);
    b.apply(2 * MiB, [idle, s1, s2, d]);
    expect(idle.share).toBe(Number.POSITIVE_INFINITY);
    expect(s1.share).toBeCloseTo(MiB);
    expect(s2.share).toBeCloseTo(MiB);
    expect(d.share).toBe(MIN_SHARE);
  });

  it('measures the peak aggregate rate over the last seconds and divides it with headroom', () => {
    const b = new BandwidthBudget();
    let t = 0;
    let bytes = 0;
    b.sample(bytes, t);
    // 3 s at 2 MiB/s, then 1 MiB/s: the peak stays 2 MiB/s.
    for (const rate of [2, 2, 2, 1, 1]) {
      t += 1000;
      bytes += rate * MiB;
      b.sample(bytes, t);
    }
    expect(b.peakRate()).toBeCloseTo(2 * MiB);
    const s = torrent('s', 0.5 * MiB, false);
    const d = torrent('d', 0, true);
    const shares = b.apply(0, [s, d]);
    const total = 2 * MiB * PROBE_HEADROOM;
    expect((shares.get('s') ?? 0) + (shares.get('d') ?? 0)).toBeCloseTo(total);
    expect(s.share).toBeGreaterThan(d.share!);
    // The peak ages out: PEAK_WINDOW_S seconds at 1 MiB/s and it is 1 MiB/s.
    for (let i = 0; i < PEAK_WINDOW_S; i++) {
      t += 1000;
      bytes += MiB;
      b.sample(bytes, t);
    }
    expect(b.peakRate()).toBeCloseTo(MiB);
  });

  it('lifts every share when the torrents stop competing', () => {
    const b = new BandwidthBudget();
    b.sample(0, 0);
    b.sample(5 * MiB, 1000);
    const s = torrent('s', MiB, false);
    const d = torrent('d', 0, true);
    b.apply(0, [s, d]);
    expect(Number.isFinite(s.share!)).toBe(true);
    b.apply(0, [s]);
    expect(s.share).toBe(Number.POSITIVE_INFINITY);
  });
});

// Token buckets and the upload throttle (src/ratelimit): pure accounting with an injected clock.
import { describe, expect, it } from 'vitest';
import {
  BucketChain,
  checkLimits,
  GlobalLimits,
  MIN_BURST,
  Throttle,
  TokenBucket,
  TorrentLimits,
} from '../src/ratelimit/index.js';

describe('TokenBucket', () => {
  it('rate 0 is unlimited', () => {
    const b = new TokenBucket(0, 0);
    for (let i = 0; i < 1000; i++) expect(b.take(1 << 20, 0)).toBe(true);
    expect(b.delay(0)).toBe(0);
  });

  it('lets through at most burst + rate x time, over any span', () => {
    const rate = 100_000;
    const b = new TokenBucket(rate, 0);
    let sent = 0;
    // A sender that tries every millisecond for 10 s with 16 KiB blocks.
    for (let t = 0; t <= 10_000; t++) {
      while (b.take(16_384, t)) sent += 16_384;
    }
    const burst = Math.max(MIN_BURST, rate / 4);
    // Debt lets one block more through than the tokens; never more.
    expect(sent).toBeLessThanOrEqual(burst + rate * 10 + 16_384);
    expect(sent).toBeGreaterThanOrEqual(rate * 10 - 16_384);
  });

  it('a block larger than the tokens still passes once, then the debt is paid back first', () => {
    const b = new TokenBucket(10_000, 0);
    expect(b.take(1_000_000, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
    const d = b.delay(0);
    // The debt is 1 MB - 32 KiB at 10 kB/s: about 97 s.
    expect(d).toBeGreaterThan(90_000);
    expect(b.take(1, d - 1_000)).toBe(false);
    expect(b.take(1, d)).toBe(true);
  });

  it('an idle bucket saves up only the burst', () => {
    const b = new TokenBucket(1_000_000, 0);
    let sent = 0;
    while (b.take(16_384, 60_000)) sent += 16_384;
    expect(sent).toBeLessThanOrEqual(250_000 + 16_384);
  });

  it('setRate takes effect at once and to unlimited', () => {
    const b = new TokenBucket(1000, 0);
    b.take(100_000, 0);
    expect(b.ready(0)).toBe(false);
    b.setRate(0, 0);
    expect(b.ready(0)).toBe(true);
    expect(() => b.setRate(-1, 0)).toThrow(/bytes\/s/);
  });
});

describe('BucketChain', () => {
  it('passes only when every bucket allows, and charges all of them', () => {
    const torrent = new TokenBucket(0, 0);
    const global = new TokenBucket(50_000, 0);
    const chain = new BucketChain([torrent, global]);
    let sent = 0;
    for (let t = 0; t <= 4_000; t += 10) while (chain.take(16_384, t)) sent += 16_384;
    expect(sent).toBeLessThanOrEqual(MIN_BURST + 50_000 * 4 + 16_384);
    expect(chain.unlimited).toBe(false);
    global.setRate(0, 4_000);
    expect(chain.unlimited).toBe(true);
  });
});

describe('Throttle', () => {
  it('calls back in order, no faster than the rate (real timers)', async () => {
    const rate = 200_000;
    const chain = new BucketChain([new TokenBucket(rate, Date.now())]);
    const th = new Throttle(chain);
    const order: number[] = [];
    const start = Date.now();
    const n = 20;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++)
        th.schedule(16_384, () => {
          order.push(i);
          if (order.length === n) resolve();
        });
    });
    const took = (Date.now() - start) / 1000;
    expect(order).toEqual([...Array(n).keys()]);
    // 20 x 16 KiB = 320 KiB at 200 kB/s with a 50 kB burst: at least ~1.3 s (loose: half of it).
    expect(took).toBeGreaterThan(((n * 16_384 - 50_000) / rate) * 0.5);
  });

  it('clear drops what waits', async () => {
    const th = new Throttle(new BucketChain([new TokenBucket(1000, Date.now())]));
    let called = 0;
    th.schedule(100_000, () => called++);
    th.schedule(1, () => called++);
    expect(called).toBe(1);
    expect(th.waiting).toBe(1);
    th.clear();
    expect(th.waiting).toBe(0);
  });
});

describe('checkLimits', () => {
  it('accepts whole bytes/s and refuses the rest with a message', () => {
    expect(checkLimits({ upload: 0, download: 1_000_000 })).toBeUndefined();
    expect(checkLimits({ upload: -1 })).toMatch(/upload is a whole number/);
    expect(checkLimits({ download: 1.5 })).toMatch(/download/);
  });
});

describe('TorrentLimits', () => {
  it('a refused request wakes the torrent once tokens are back; the global limit applies too', async () => {
    const global = new GlobalLimits({ upload: 0, download: 200_000 });
    let woken = 0;
    let wake: () => void = () => {};
    const woke = new Promise<void>((r) => {
      wake = r;
    });
    const t = new TorrentLimits(global, { upload: 0, download: 0 }, () => {
      woken++;
      wake();
    });
    try {
      let granted = 0;
      while (t.mayRequest(16_384)) granted++;
      // The global burst is max(32 KiB, 50 kB): a few blocks, never the whole budget of a second.
      expect(granted).toBeGreaterThan(0);
      expect(granted).toBeLessThanOrEqual(5);
      expect(t.mayRequest(16_384)).toBe(false);
      await woke;
      expect(woken).toBe(1);
      expect(t.mayRequest(16_384)).toBe(true);
      // Lifting the global limit lets everything through at once.
      global.set({ download: 0 });
      for (let i = 0; i < 100; i++) expect(t.mayRequest(16_384)).toBe(true);
      expect(t.get()).toEqual({ upload: 0, download: 0 });
      expect(global.get()).toEqual({ upload: 0, download: 0 });
    } finally {
      t.close();
    }
  });
});

// A new connection's rate as the planner sees it (src/swarm/peer.ts earlyDownloadRate): the wire's
// meter reports the bytes so far as a per-second rate during its first second, which made a new
// peer's pipeline collapse to two requests after its first block. The figures against a peer 100 ms
// away are in docs/design/scheduler.md ("Numbers"); this pins the estimate itself.
import { describe, expect, it } from 'vitest';
import { earlyDownloadRate } from '../src/swarm/peer.js';

const KiB = 1024;

describe('earlyDownloadRate', () => {
  it.each([
    // meter (what bittorrent-protocol says), bytes received, ms since our first request -> rate
    {
      meter: 16 * KiB,
      bytes: 16 * KiB,
      ms: 5,
      rate: 160 * KiB,
      why: 'one quick block: over 100 ms, not a torrent',
    },
    { meter: 512 * KiB, bytes: 512 * KiB, ms: 200, rate: 2560 * KiB, why: '512 KiB in 200 ms is 2.5 MiB/s' },
    { meter: 0, bytes: 0, ms: 300, rate: 0, why: 'nothing yet: unknown (the planner assumes its default)' },
    { meter: 3000 * KiB, bytes: 600 * KiB, ms: 400, rate: 3000 * KiB, why: 'never below the meter' },
    {
      meter: 700 * KiB,
      bytes: 4096 * KiB,
      ms: 1000,
      rate: 700 * KiB,
      why: 'after a second, the meter as is',
    },
    { meter: 700 * KiB, bytes: 4096 * KiB, ms: 60_000, rate: 700 * KiB, why: 'an old connection: the meter' },
  ])('$why', ({ meter, bytes, ms, rate }) => {
    expect(earlyDownloadRate(meter, bytes, ms)).toBe(rate);
  });
});

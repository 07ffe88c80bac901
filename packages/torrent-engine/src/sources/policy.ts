/**
 * Timing policy of the sources, pure (no timers, no clock): how long to wait between announces,
 * after failures, and how a BEP 12 tier orders its trackers. The sources execute it.
 */

export interface IntervalBounds {
  /** Floor for a tracker's `interval`: a tracker saying 0 or 5 must not make us announce in a loop. */
  minMs: number;
  /** Ceiling: a tracker saying "a day" would leave us without fresh peers; trackers tolerate early announces. */
  maxMs: number;
}

/**
 * 1 minute to 1 hour. Common trackers ask for 30 min (opentracker) or 15-60 min; under a minute is
 * a misconfiguration or hostility, over an hour makes a torrent's swarm view go stale.
 */
export const DEFAULT_INTERVAL_BOUNDS: IntervalBounds = { minMs: 60_000, maxMs: 3_600_000 };

/** The delay before the next regular announce, from the tracker's `interval` in seconds. */
export function announceDelayMs(
  intervalSec: number,
  bounds: IntervalBounds = DEFAULT_INTERVAL_BOUNDS,
): number {
  const ms = Number.isFinite(intervalSec) ? intervalSec * 1000 : bounds.maxMs;
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, ms));
}

/**
 * The shortest spacing between two announces to one tracker when we announce early because the
 * engine wants more peers: the tracker's `min interval` if it gave one and it is larger, else our
 * floor (5 minutes, libtorrent's `min_announce_interval`: a tracker's answer changes little faster).
 */
export function earlyAnnounceSpacingMs(minIntervalSec: number | undefined, floorMs: number): number {
  const trackerMs =
    minIntervalSec !== undefined && Number.isFinite(minIntervalSec) ? minIntervalSec * 1000 : 0;
  return Math.max(floorMs, Math.min(trackerMs, DEFAULT_INTERVAL_BOUNDS.maxMs));
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential back-off after `failures` consecutive failures (1 = first failure): base x 2^(n-1),
 * capped, with +-20 % jitter so torrents sharing a dead tracker do not retry in lockstep.
 * `random` returns [0, 1).
 */
export function backoffDelayMs(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(failures));
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 30));
  const jitter = 0.8 + 0.4 * random();
  return Math.round(Math.min(policy.maxMs, raw * jitter));
}

/** Fisher-Yates, with an injectable random source for deterministic tests. */
export function shuffle<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** BEP 12: a tracker that answered moves to the front of its tier, the others keep their order. */
export function promote<T>(tier: readonly T[], item: T): T[] {
  const i = tier.indexOf(item);
  if (i <= 0) return [...tier];
  return [item, ...tier.slice(0, i), ...tier.slice(i + 1)];
}

const SUPPORTED = /^(https?|udp):\/\//i;

/** http:, https: and udp: trackers are supported; ws:/wss: (WebTorrent) and others are not. */
export function isSupportedTrackerUrl(url: string): boolean {
  if (!SUPPORTED.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Cleans announce-list tiers: unsupported or malformed URLs out, a URL listed twice kept only at its
 * first place (BEP 12 torrents often repeat `announce` in `announce-list`), empty tiers dropped.
 */
export function normalizeTiers(tiers: readonly (readonly string[])[]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const tier of tiers) {
    const kept: string[] = [];
    for (const raw of tier) {
      const url = raw.trim();
      if (!isSupportedTrackerUrl(url) || seen.has(url)) continue;
      seen.add(url);
      kept.push(url);
    }
    if (kept.length > 0) out.push(kept);
  }
  return out;
}

// Dividing a global download budget between torrents (issue 4: streams of several torrents share
// bandwidth fairly). One snapshot is one torrent; the engine (engine/bandwidth.ts) calls this every
// second and gives each torrent its share: a token bucket pacing its requests, and
// maxTotalOutstanding (outstandingFor()) for its plan.
//
// Streams come first: each streaming torrent is owed its readers' media rate with headroom, and
// when the budget cannot cover every stream they get max-min fair shares (nobody gets more than it
// needs; what a small stream leaves goes to the bigger ones). What is left is split evenly between
// every torrent with work (streams fill their windows faster, downloads progress).

export interface TorrentDemand {
  id: string;
  /** Sum of the media rates (B/s) of the torrent's readers; 0 when nobody is streaming from it. */
  streamingRate: number;
  /** Does it want pieces beyond its readers' windows (background downloading)? */
  background: boolean;
}

/** Streams get 1.5x their media rate: real time plus half again to build a buffer and survive jitter. */
export const STREAM_HEADROOM = 1.5;

/** Each torrent's share of `total` bytes per second. Infinity in, Infinity out (no global limit). */
export function divideBudget(total: number, torrents: readonly TorrentDemand[]): Map<string, number> {
  const shares = new Map<string, number>();
  for (const t of torrents) shares.set(t.id, 0);
  if (!(total > 0)) return shares;
  if (!Number.isFinite(total)) {
    for (const t of torrents) if (t.streamingRate > 0 || t.background) shares.set(t.id, total);
    return shares;
  }
  let left = total;
  // Water-filling over the streams' needs, smallest first.
  const streams = torrents
    .filter((t) => t.streamingRate > 0)
    .sort((a, b) => a.streamingRate - b.streamingRate);
  for (let i = 0; i < streams.length; i++) {
    const t = streams[i]!;
    const fair = left / (streams.length - i);
    const give = Math.min(fair, t.streamingRate * STREAM_HEADROOM);
    shares.set(t.id, give);
    left -= give;
  }
  const active = torrents.filter((t) => t.streamingRate > 0 || t.background);
  if (left > 0 && active.length > 0) {
    const each = left / active.length;
    for (const t of active) shares.set(t.id, (shares.get(t.id) ?? 0) + each);
  }
  return shares;
}

/**
 * Requests to keep in flight for a share of `bytesPerSecond`: one second of it in 16 KiB blocks,
 * at least 2 (the same rule as a peer's pipeline).
 */
export function outstandingFor(bytesPerSecond: number, blockSize = 16384): number {
  if (!Number.isFinite(bytesPerSecond)) return Number.POSITIVE_INFINITY;
  return Math.max(2, Math.ceil(bytesPerSecond / blockSize));
}

/**
 * The total the engine divides between its torrents, bytes/s: the configured download limit, or
 * Infinity ("no division": each torrent takes what its peers and windows give it) without one.
 *
 * Why not the link's measured capacity when there is no limit: a total taken from the rate seen so
 * far caps torrents that are still ramping up (TCP slow start, peers connecting), and then can only
 * grow by its headroom each round: with 25% headroom, from a first 1 MiB/s sample to a 12 MiB/s
 * line takes 11 rounds (1.25^11 ~ 12), about 11 s, where TCP alone needs a second or two. Without
 * a limit, a stream is protected by its deadlines within its torrent; across torrents, a user who
 * wants streams to come first sets a download limit.
 */
export function budgetTotal(downloadLimit: number): number {
  return downloadLimit > 0 ? downloadLimit : Number.POSITIVE_INFINITY;
}

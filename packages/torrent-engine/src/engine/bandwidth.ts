/**
 * Dividing the engine's download bandwidth between its torrents (issue 4: streams of several
 * torrents at once share bandwidth fairly; docs/design/scheduler.md, "Several torrents").
 *
 * Every second the engine asks each torrent what it wants (its readers' media rates, whether it
 * downloads in the background), divides a total with divideBudget() and gives each torrent its
 * share, which paces its requests. The total is the configured download limit, or, when a stream
 * competes with other torrents and no limit is set, the best aggregate rate seen in the last
 * PEAK_WINDOW_S seconds with headroom (budgetTotal()). Nothing here touches a socket.
 */
import { budgetTotal, divideBudget, type TorrentDemand } from '../scheduler/index.js';

/** How often shares are recomputed (and the aggregate rate sampled). */
export const BUDGET_INTERVAL_MS = 1_000;
/** How far back the peak aggregate rate looks: long enough to ride out a pause in a stream. */
export const PEAK_WINDOW_S = 20;

/**
 * The least a torrent that wants something is given when the streams took the whole budget: a
 * trickle (four blocks a second) that keeps its peers from snubbing it, not a free pass.
 */
export const MIN_SHARE = 64 * 1024;

export interface BudgetedTorrent {
  demand(): TorrentDemand;
  setShare(bytesPerSecond: number): void;
}

export class BandwidthBudget {
  private readonly samples: number[] = [];
  private lastBytes: number | undefined;
  private lastAt = 0;

  /** Records the engine's total payload downloaded so far (bytes) at `now` (ms). */
  sample(totalDownloaded: number, now: number): void {
    if (this.lastBytes !== undefined && now > this.lastAt) {
      const rate = Math.max(0, totalDownloaded - this.lastBytes) / ((now - this.lastAt) / 1000);
      this.samples.push(rate);
      if (this.samples.length > PEAK_WINDOW_S) this.samples.shift();
    }
    this.lastBytes = totalDownloaded;
    this.lastAt = now;
  }

  /** The best aggregate rate over the window, bytes/s (0 before two samples). */
  peakRate(): number {
    let peak = 0;
    for (const r of this.samples) if (r > peak) peak = r;
    return peak;
  }

  /** Computes and hands out every torrent's share; returns them by torrent id (for logs, tests). */
  apply(downloadLimit: number, torrents: readonly BudgetedTorrent[]): Map<string, number> {
    const demands = torrents.map((t) => t.demand());
    const total = budgetTotal(downloadLimit, this.peakRate(), demands);
    const shares = divideBudget(total, demands);
    for (let i = 0; i < torrents.length; i++) {
      const d = demands[i]!;
      const wants = d.streamingRate > 0 || d.background;
      let share = shares.get(d.id) ?? 0;
      if (wants && Number.isFinite(share)) share = Math.max(MIN_SHARE, share);
      // A torrent with nothing to fetch gets no share and no cap: the moment a player resumes or
      // seeks it requests at once, and the next round (a second at most) gives it its share.
      else if (!wants) share = Number.POSITIVE_INFINITY;
      shares.set(d.id, share);
      torrents[i]!.setShare(share);
    }
    return shares;
  }
}

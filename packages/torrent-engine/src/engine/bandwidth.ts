/**
 * Dividing the engine's download bandwidth between its torrents (issue 4: streams of several
 * torrents at once share bandwidth fairly; docs/design/scheduler.md, "Several torrents").
 *
 * Every second the engine asks each torrent what it wants (its readers' media rates, whether it
 * downloads in the background), divides the configured download limit with divideBudget() and gives
 * each torrent its share, which paces its requests. Without a limit nothing is divided (budgetTotal()
 * says why). Nothing here touches a socket.
 */
import { budgetTotal, divideBudget, type TorrentDemand } from '../scheduler/index.js';

/** How often shares are recomputed. */
export const BUDGET_INTERVAL_MS = 1_000;

/**
 * The least a torrent that wants something is given when the streams took the whole budget: a
 * trickle (four blocks a second) that keeps its peers from snubbing it, not a free pass.
 */
export const MIN_SHARE = 64 * 1024;

export interface BudgetedTorrent {
  demand(): TorrentDemand;
  setShare(bytesPerSecond: number): void;
}

/** Computes and hands out every torrent's share; returns them by torrent id (for logs, tests). */
export function shareBandwidth(
  downloadLimit: number,
  torrents: readonly BudgetedTorrent[],
): Map<string, number> {
  const demands = torrents.map((t) => t.demand());
  const total = budgetTotal(downloadLimit);
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

/**
 * Swarm-friendly choices for a torrent with streaming viewers (issue 7, docs/design/swarm.md):
 * which peers are costly to ask (the origin), and how much background trading a streaming torrent
 * does. Pure apart from the clock passed in; the torrent asks it on every plan.
 */
import type { Bitfield } from '../bitfield.js';
import type { ReaderState } from '../scheduler/types.js';

/**
 * Scheduler cost of a peer that was complete whenever we saw it: most likely the origin (the
 * uploader on a home connection) or another seed. Fellow viewers cost 1: the scheduler asks a
 * costly peer only for blocks no cheaper peer can deliver in time (or has at all).
 */
export const SEED_COST = 10;
/** Background requests in flight while a player is reading and a fellow viewer is connected. */
export const TRADING_OUTSTANDING = 4;
/** A reader whose playhead has not moved for this long counts as paused. */
export const READER_IDLE_MS = 2_000;

export interface PeerView {
  /** Same object for the life of the connection (keys the "seen incomplete" memory). */
  key: object;
  has: Bitfield;
}

export interface BackgroundChoice {
  background: boolean;
  maxBackgroundOutstanding?: number;
}

export class SwarmPolicy {
  /**
   * Background trading while streaming is off by default: measured with 8 viewers joining 3 s
   * apart (bench/swarm.ts), it raised the origin's share from 0.13 to 0.26, because the pieces a
   * viewer fetches outside its window are the rarest ones, which only the origin has.
   */
  constructor(private readonly opts: { tradeWhileStreaming?: boolean } = {}) {}

  private readonly seenIncomplete = new WeakSet<object>();
  private readonly readerMoves = new Map<string, { playhead: number; at: number }>();

  /**
   * The peer's cost. A peer we once saw without every piece is a viewer that finished: it stays
   * cheap (it has nothing left to download, its upload is free to use).
   */
  cost(peer: PeerView): number {
    if (!peer.has.isComplete()) {
      this.seenIncomplete.add(peer.key);
      return 1;
    }
    return this.seenIncomplete.has(peer.key) ? 1 : SEED_COST;
  }

  /** Records a reader's window (called whenever the stream pushes it); undefined = it closed. */
  noteReader(id: string, state: ReaderState | undefined, now: number): void {
    if (!state) {
      this.readerMoves.delete(id);
      return;
    }
    const prev = this.readerMoves.get(id);
    if (!prev || prev.playhead !== state.playhead)
      this.readerMoves.set(id, { playhead: state.playhead, at: now });
  }

  /** Some reader's playhead moved within READER_IDLE_MS. */
  readingNow(now: number): boolean {
    for (const r of this.readerMoves.values()) if (now - r.at < READER_IDLE_MS) return true;
    return false;
  }

  /**
   * Background fetching (pieces outside every reader window, rarest first):
   * - no reader: the torrent downloads everything, unbounded;
   * - readers, one of them playing, a fellow viewer (a peer that is not a seed) connected, and
   *   tradeWhileStreaming on: a few requests in flight, so this viewer holds pieces to trade;
   * - readers all paused, or only seeds around: none (a paused player must not eat the user's
   *   bandwidth, and there is no one to trade with).
   */
  background(o: { paused: boolean; readers: number; partialPeers: number; now: number }): BackgroundChoice {
    if (o.paused) return { background: false };
    if (o.readers === 0) return { background: true };
    if (this.opts.tradeWhileStreaming && o.partialPeers > 0 && this.readingNow(o.now)) {
      return { background: true, maxBackgroundOutstanding: TRADING_OUTSTANDING };
    }
    return { background: false };
  }
}

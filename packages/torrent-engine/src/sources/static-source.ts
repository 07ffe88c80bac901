/**
 * Peers known in advance: a magnet's x.pe parameters or peers given through the control API.
 * They are handed over at start and again when the engine is short of peers (at most once a
 * minute): the engine may have dropped them after a failed connection, and a hand-given peer is
 * worth another try.
 */
import { normalizePeer } from './peers.js';
import type { PeerAddress, PeerSource, PeerSourceContext } from './types.js';

/** Minimum spacing of repeats on needMorePeers. */
const REPEAT_SPACING_MS = 60_000;

export function staticSource(peers: PeerAddress[], name = 'manual'): PeerSource {
  return new StaticSource(peers, name);
}

export class StaticSource implements PeerSource {
  private readonly peers: PeerAddress[];
  private ctx: PeerSourceContext | undefined;
  private lastSent = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    peers: PeerAddress[],
    readonly name = 'manual',
  ) {
    // Invalid entries (port 0, garbage hosts) are dropped here, once.
    this.peers = peers.map((p) => normalizePeer(p)).filter((p): p is PeerAddress => p !== undefined);
  }

  start(ctx: PeerSourceContext): void {
    if (this.ctx) return;
    this.ctx = ctx;
    // After start() returns, so the engine never sees onPeers re-entering its own start.
    queueMicrotask(() => this.send());
  }

  needMorePeers(): void {
    if (this.ctx && Date.now() - this.lastSent >= REPEAT_SPACING_MS) this.send();
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  private send(): void {
    if (this.stopped || !this.ctx || this.peers.length === 0) return;
    this.lastSent = Date.now();
    this.ctx.onPeers(
      this.peers.map((p) => ({ ...p })),
      this.name,
    );
  }
}

/**
 * The union of a torrent's peer sources, as one PeerSource-like object for the engine: starts and
 * stops them together, forwards needMorePeers, and deduplicates what they find.
 *
 * Dedup is by normalised host:port over a window (10 minutes by default), not forever: the engine
 * may drop a peer (failed connection, choked out), and if a tracker or the DHT still lists it ten
 * minutes later, it is worth handing over again; within the window a repeat is noise (every DHT
 * lookup and tracker announce returns mostly the same peers). The memory is bounded: the oldest
 * entries go first once `maxRemembered` is reached.
 */
import { normalizePeer, peerKey } from './peers.js';
import type { PeerAddress, PeerSource, PeerSourceContext } from './types.js';

export interface PeerSourceSetOptions {
  redeliverAfterMs?: number;
  /** 50,000 addresses is a few MiB at most and more than any swarm we will see. */
  maxRemembered?: number;
  now?: () => number;
}

export interface PeerSourceStatus {
  name: string;
  /** Distinct new peers this source delivered (after dedup). */
  peers: number;
}

export class PeerSourceSet {
  private readonly list: PeerSource[] = [];
  private readonly found = new Map<PeerSource, number>();
  /** key -> when it was last forwarded; Map keeps insertion order, so the first entry is the oldest. */
  private readonly seen = new Map<string, number>();
  private ctx: PeerSourceContext | undefined;
  private stopped = false;
  private readonly redeliverAfterMs: number;
  private readonly maxRemembered: number;
  private readonly now: () => number;

  constructor(sources: PeerSource[] = [], opts: PeerSourceSetOptions = {}) {
    this.redeliverAfterMs = opts.redeliverAfterMs ?? 600_000;
    this.maxRemembered = opts.maxRemembered ?? 50_000;
    this.now = opts.now ?? Date.now;
    for (const s of sources) this.add(s);
  }

  get sources(): readonly PeerSource[] {
    return this.list;
  }

  /** Adds a source (an API-given peer list, a DHT client that came up late); started at once if the set runs. */
  add(source: PeerSource): void {
    if (this.list.includes(source)) return;
    this.list.push(source);
    this.found.set(source, 0);
    if (this.ctx && !this.stopped) this.startOne(source);
  }

  start(ctx: PeerSourceContext): void {
    if (this.ctx) return;
    this.ctx = ctx;
    for (const s of this.list) this.startOne(s);
  }

  needMorePeers(): void {
    if (!this.ctx || this.stopped) return;
    for (const s of this.list) {
      try {
        s.needMorePeers();
      } catch (err) {
        this.ctx.log.error({ source: s.name }, `peer source needMorePeers failed: ${(err as Error).message}`);
      }
    }
  }

  /** Lets a peer be delivered again at once (the engine gave up on it and wants to hear of it anew). */
  forget(peer: PeerAddress): void {
    const p = normalizePeer(peer);
    if (p) this.seen.delete(peerKey(p));
  }

  status(): PeerSourceStatus[] {
    return this.list.map((s) => ({ name: s.name, peers: this.found.get(s) ?? 0 }));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled(this.list.map((s) => s.stop()));
  }

  private startOne(source: PeerSource): void {
    const ctx = this.ctx!;
    const child: PeerSourceContext = {
      ...ctx,
      onPeers: (peers, name) => this.deliver(source, peers, name),
    };
    try {
      source.start(child);
    } catch (err) {
      ctx.log.error({ source: source.name }, `peer source failed to start: ${(err as Error).message}`);
    }
  }

  private deliver(source: PeerSource, peers: PeerAddress[], name: string): void {
    const ctx = this.ctx;
    if (!ctx || this.stopped) return;
    const now = this.now();
    const fresh: PeerAddress[] = [];
    for (const raw of peers) {
      const p = normalizePeer(raw);
      if (!p) continue;
      const key = peerKey(p);
      const last = this.seen.get(key);
      if (last !== undefined && now - last < this.redeliverAfterMs) continue;
      this.seen.delete(key); // re-insert at the end: the Map order is the age order
      this.seen.set(key, now);
      fresh.push(p);
    }
    while (this.seen.size > this.maxRemembered) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    if (fresh.length === 0) return;
    this.found.set(source, (this.found.get(source) ?? 0) + fresh.length);
    try {
      ctx.onPeers(fresh, name);
    } catch (err) {
      // The engine's handler threw: report it here rather than inside a source's timer.
      ctx.log.error({ source: name }, `onPeers handler failed: ${(err as Error).message}`);
    }
  }
}

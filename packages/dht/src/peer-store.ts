/**
 * Peers other nodes announced to us (BEP 5 announce_peer), bounded and expiring. It replaces
 * bittorrent-dht's `_peers` (a record-cache created with maxAge 0, so peers never expired, and
 * with maxSize counting only the "fresh" half, so it could hold twice its bound).
 *
 * - A peer expires `ttlMs` after its last announce (30 min by default: twice the 15 min
 *   re-announce interval, so one lost announce does not drop a live peer).
 * - At most `maxPeers` in total (dht.max_stored_peers): when full, the least recently announced
 *   peer goes. At most `maxPerInfohash` per infohash, so one torrent cannot take the whole store.
 * - Insertion order is expiry order (every entry lives exactly ttlMs), so expiry and eviction both
 *   pop from the head of one Map: O(1) per peer, no scan.
 * Pure: the clock is injected.
 */

export interface PeerStoreOptions {
  maxPeers: number;
  ttlMs: number;
  /** libtorrent's default too (dht_max_peers = 500). */
  maxPerInfohash?: number;
  now?: () => number;
}

/** get_peers replies carry at most this many values: 50 × 8 bytes keeps a reply well inside one datagram. */
export const MAX_VALUES_PER_REPLY = 50;

export class PeerStore {
  readonly maxPeers: number;
  readonly ttlMs: number;
  readonly maxPerInfohash: number;
  private readonly now: () => number;
  /** infohash hex -> (compact peer hex -> expiry). */
  private readonly byInfohash = new Map<string, Map<string, number>>();
  /** `${infohash}|${peer}` -> expiry, in insertion (= expiry) order. */
  private readonly order = new Map<string, number>();

  constructor(opts: PeerStoreOptions) {
    this.maxPeers = opts.maxPeers;
    this.ttlMs = opts.ttlMs;
    this.maxPerInfohash = Math.min(opts.maxPerInfohash ?? 500, opts.maxPeers);
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.order.size;
  }

  get infohashes(): number {
    return this.byInfohash.size;
  }

  /** Called by bittorrent-dht as `_peers.add(infohashHex, compactPeer)`. */
  add(infohash: string, peer: Buffer): void {
    this.sweep();
    const peerHex = peer.toString('hex');
    const key = `${infohash}|${peerHex}`;
    const expires = this.now() + this.ttlMs;
    let peers = this.byInfohash.get(infohash);
    if (!peers) this.byInfohash.set(infohash, (peers = new Map()));
    // Re-announce: delete first so the entry moves to the tail of both orders.
    if (peers.delete(peerHex)) this.order.delete(key);
    else if (peers.size >= this.maxPerInfohash) this.remove(infohash, peers.keys().next().value!);
    while (this.order.size >= this.maxPeers) {
      const oldest = this.order.keys().next().value!;
      const [ih, p] = oldest.split('|') as [string, string];
      this.remove(ih, p);
    }
    peers.set(peerHex, expires);
    this.order.set(key, expires);
  }

  /** Up to `n` live peers for an infohash, a random sample when there are more. */
  get(infohash: string, n: number = MAX_VALUES_PER_REPLY): Buffer[] {
    this.sweep();
    const peers = this.byInfohash.get(infohash);
    if (!peers) return [];
    const all = [...peers.keys()];
    for (let i = 0; i < Math.min(n, all.length); i++) {
      const j = i + Math.floor(Math.random() * (all.length - i));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.slice(0, n).map((h) => Buffer.from(h, 'hex'));
  }

  /** Drops expired peers (from the head: the oldest expire first). */
  sweep(): void {
    const now = this.now();
    for (const [key, expires] of this.order) {
      if (expires > now) break;
      const [ih, p] = key.split('|') as [string, string];
      this.remove(ih, p);
    }
  }

  /** bittorrent-dht calls this on destroy. */
  destroy(): void {
    this.byInfohash.clear();
    this.order.clear();
  }

  private remove(infohash: string, peerHex: string): void {
    this.order.delete(`${infohash}|${peerHex}`);
    const peers = this.byInfohash.get(infohash);
    if (!peers) return;
    peers.delete(peerHex);
    if (peers.size === 0) this.byInfohash.delete(infohash);
  }
}

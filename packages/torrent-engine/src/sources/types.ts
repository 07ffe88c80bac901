/**
 * The seam between the engine and everything that tells it about peers: trackers, the DHT daemon,
 * peers given by hand (magnet x.pe, the control API) and, through PeerSourceSet, their union.
 * The engine only ever sees `onPeers(addresses, sourceName)`; how a source finds them is its own.
 */
import type { Logger } from '@dream/config';

/**
 * A peer's transport address. Structurally the same as `PeerAddress` in src/bitfield.ts and in
 * @dream/dht; declared here so the sources do not depend on when those files land.
 */
export interface PeerAddress {
  host: string;
  port: number;
}

export interface PeerSourceContext {
  /** v1 infohash, 40 hex characters (either case; sources send the raw 20 bytes). */
  infohash: string;
  /** Our listening TCP port, announced to trackers and the DHT. */
  port: number;
  /** Transfer totals for tracker announces, read at each announce. */
  stats(): { uploaded: number; downloaded: number; left: number };
  /** Called with new peers as they are found; `source` names the source (for logs and the peer list). */
  onPeers(peers: PeerAddress[], source: string): void;
  log: Logger;
  /**
   * Our 20-byte peer id as sent in the wire handshake (trackers want the same one). Optional: when
   * absent, a random Dream peer id is made once per process.
   */
  peerId?: Uint8Array;
}

export interface PeerSource {
  readonly name: string;
  /** Begins finding peers. Never throws and never rejects into the event loop: failures are logged and retried. */
  start(ctx: PeerSourceContext): void;
  /** The engine is short of peers: look again sooner, within the source's own rate limit. */
  needMorePeers(): void;
  /** Stops timers and sockets; says goodbye where the protocol has one (tracker event=stopped), briefly. */
  stop(): Promise<void>;
}

/**
 * What dhtSource needs from a DHT client: the shape of @dream/dht's DhtClient, declared
 * structurally so this module builds whether or not that package is ready.
 */
export interface DhtLike {
  findPeers(
    infohash: string,
    opts?: { signal?: AbortSignal; timeoutMs?: number },
  ): AsyncIterable<PeerAddress>;
  announce(infohash: string, port: number): Promise<void>;
  unannounce(infohash: string): Promise<void>;
}

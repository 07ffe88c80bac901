/** A peer found for an infohash: where to connect with the BitTorrent protocol. */
export interface PeerAddress {
  host: string;
  port: number;
}

/** What GET /v1/status returns. */
export interface DhtStatus {
  /** 40 hex digits; kept across restarts. */
  nodeId: string;
  udpPort: number;
  /** Nodes in the routing table. */
  tableSize: number;
  /** Nodes heard from in the last 15 minutes (BEP 5's "good"). */
  goodNodes: number;
  /** Peers other nodes announced to us, across all infohashes (bounded by dht.max_stored_peers). */
  storedPeers: number;
  storedInfohashes: number;
  /** Infohashes registered for announcing (re-announced on schedule). */
  announced: number;
  traffic: { packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; dropped: number };
  uptimeSeconds: number;
  /** The first lookup of our own id has finished (true at once for the first node of a network). */
  bootstrapped: boolean;
}

export interface AnnounceEntry {
  infohash: string;
  port: number;
  lastAnnounce: string | null;
}

/** A BEP 44 mutable item as stored and returned. */
export interface MutableItem {
  value: Uint8Array;
  seq: number;
  signature: Uint8Array;
}

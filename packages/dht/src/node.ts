/**
 * One mainline DHT node: bittorrent-dht on a GuardedSocket, with our PeerStore and ed25519
 * verification for BEP 44. The daemon, the tests and the benchmark all build nodes through here,
 * so they all run the same fixes.
 *
 * What bittorrent-dht already does right (checked in bittorrent-dht@11.0.12 client.js): tokens are
 * sha1(ip + secret), secrets rotate every 5 min and the previous one is still accepted (a token
 * lives 5-10 min, as BEP 5 says); announce_peer with a bad token gets error 203; implied_port uses
 * the packet's source port; iterative lookups keep the k closest responders. What we fix or wrap:
 * field types (krpc-guard), unsolicited responses and traffic (GuardedSocket), peer expiry and
 * bounds (PeerStore), and re-announcing (announcer.ts: it never re-announces by itself).
 */
import { createSocket } from 'node:dgram';
import DHT, { type KNode } from 'bittorrent-dht';
import { verifyEd25519 } from './bep44.js';
import { GuardedSocket } from './guarded-socket.js';
import { PeerStore } from './peer-store.js';
import type { PeerAddress } from './types.js';

export interface DhtNodeOptions {
  host: string;
  port: number;
  bootstrap: Array<{ host: string; port: number }>;
  nodeId?: Buffer;
  /** Nodes from a saved routing table, added before the first lookup. */
  savedNodes?: Array<{ id: Buffer; host: string; port: number }>;
  maxStoredPeers: number;
  peerTtlMs: number;
  /** Per-query timeout; k-rpc's default is 2 s. */
  queryTimeoutMs?: number;
}

export interface DhtNode {
  dht: DHT;
  socket: GuardedSocket;
  peers: PeerStore;
  port: number;
  nodeId: Buffer;
  /** Resolves when the first lookup of our own id (the bootstrap) has finished. */
  bootstrapped: Promise<void>;
  isBootstrapped(): boolean;
  destroy(): Promise<void>;
  table(): KNode[];
}

export async function createDhtNode(opts: DhtNodeOptions): Promise<DhtNode> {
  if (opts.host.includes(':')) {
    throw new Error(
      `dht.host "${opts.host}" is IPv6: the mainline DHT (BEP 5 compact node info) is IPv4; BEP 32 is not supported yet`,
    );
  }
  // Loopback contacts are only meaningful when we are on loopback ourselves (see addresses.ts).
  const allowLoopback = opts.host.startsWith('127.') || opts.bootstrap.some((b) => b.host.startsWith('127.'));
  const socket = new GuardedSocket(createSocket('udp4'), { allowLoopback });
  const peers = new PeerStore({ maxPeers: opts.maxStoredPeers, ttlMs: opts.peerTtlMs });
  const dht = new DHT({
    nodeId: opts.nodeId,
    // An empty list is a brand-new network: k-rpc then bootstraps from nobody (and falls back to
    // its hard-coded public routers only when given no list at all, which we never do).
    bootstrap: opts.bootstrap,
    socket,
    verify: verifyEd25519,
    timeout: opts.queryTimeoutMs,
  });
  // Every API lookup listens for 'peer' on the DHT object; the API bounds how many run at once.
  dht.setMaxListeners(0);
  (dht._peers as { destroy(): void }).destroy();
  dht._peers = peers;

  let bootstrapped = false;
  const bootstrappedP = new Promise<void>((resolve) =>
    dht.once('ready', () => {
      bootstrapped = true;
      resolve();
    }),
  );
  // Saved nodes go in before bootstrap (bittorrent-dht starts it on the next tick), so the first
  // lookup already walks from them: this is how a restart rejoins without the bootstrap nodes.
  for (const n of opts.savedNodes ?? []) dht.addNode({ id: n.id, host: n.host, port: n.port });

  await new Promise<void>((resolve, reject) => {
    // k-rpc-socket reports EADDRINUSE/EACCES as 'error' and every other bind failure (a host that
    // is not ours: EADDRNOTAVAIL) as 'warning'; before we are listening, both mean "cannot start".
    const onError = (err: Error) => {
      dht.removeListener('error', onError);
      dht.removeListener('warning', onError);
      reject(new Error(`cannot bind UDP ${opts.host}:${opts.port}: ${err.message}`));
    };
    dht.on('error', onError);
    dht.on('warning', onError);
    dht.listen(opts.port, opts.host, () => {
      dht.removeListener('error', onError);
      dht.removeListener('warning', onError);
      resolve();
    });
  });
  // After listening, socket errors (other than bind errors) are warnings; never let one crash us.
  dht.on('error', () => {});
  dht.on('warning', () => {});

  return {
    dht,
    socket,
    peers,
    port: dht.address().port,
    nodeId: dht.nodeId,
    bootstrapped: bootstrappedP,
    isBootstrapped: () => bootstrapped,
    table: () => dht.nodes.toArray(),
    destroy: () => new Promise<void>((resolve) => dht.destroy(() => resolve())),
  };
}

/**
 * One get_peers lookup: onPeer for every peer bittorrent-dht reports for this infohash (ours from
 * the local store first, then remote values as replies arrive), done once when the iterative
 * lookup has no closer node left to ask. Returns an abort (then done is not called).
 */
export function lookupPeers(
  dht: DHT,
  infohash: Buffer,
  onPeer: (p: PeerAddress) => void,
  done: () => void,
): () => void {
  let ended = false;
  // bittorrent-dht emits every lookup's peers on the DHT object; keep only this infohash's.
  const listener = (peer: PeerAddress, ih: Buffer) => {
    if (!ended && Buffer.isBuffer(ih) && ih.equals(infohash)) onPeer({ host: peer.host, port: peer.port });
  };
  dht.on('peer', listener);
  const end = () => {
    if (ended) return;
    ended = true;
    dht.removeListener('peer', listener);
    abort();
  };
  const abort = dht.lookup(infohash, () => {
    if (ended) return;
    end();
    done();
  });
  return end;
}

/** Resolves with every peer one lookup found (deduplicated). */
export function findPeersOnce(dht: DHT, infohash: Buffer): Promise<PeerAddress[]> {
  return new Promise((resolve) => {
    const found = new Map<string, PeerAddress>();
    lookupPeers(
      dht,
      infohash,
      (p) => found.set(`${p.host}:${p.port}`, p),
      () => resolve([...found.values()]),
    );
  });
}

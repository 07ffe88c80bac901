/**
 * `@dream/dht/client`: the client of dream-dht's local API, without the DHT node, its sockets or
 * the API server (bittorrent-dht and fastify), so dream-cli starts without loading them.
 */
export { DhtApiError, DhtClient, type FindPeersOptions, type PutMutableOptions } from './client.js';
export type { AnnounceEntry, DhtStatus, MutableItem, PeerAddress } from './types.js';

// @dream/torrent-engine: the BitTorrent engine library and the pieces it is built from.
export { Bitfield, type PeerAddress } from './bitfield.js';
export * from './choke/index.js';
export * from './control-api/index.js';
export * from './create/index.js';
export {
  type AddInput,
  type AddOptions,
  Engine,
  type EngineEvents,
  type EngineOptions,
} from './engine/engine.js';
export { ENGINE_ERROR_CODES, EngineError, type EngineErrorCode } from './engine/errors.js';
export {
  MAX_PEERS_PER_TORRENT,
  MAX_SOLE_STRIKES,
  MAX_STRIKES,
  type PeerInfo,
  Torrent,
  type TorrentDetail,
  type TorrentState,
  type TorrentSummary,
} from './engine/torrent.js';
export * from './metainfo/index.js';
export * from './resume/index.js';
export * from './scheduler/index.js';
export {
  type DhtLike,
  dhtSource,
  type PeerSource,
  type PeerSourceContext,
  PeerSourceSet,
  staticSource,
  trackerSources,
} from './sources/index.js';
export * from './storage/index.js';
export { dialPeer, type Handshaken, PeerListener } from './swarm/connect.js';
export { Peer } from './swarm/peer.js';
export { addressKey, PeerBook } from './swarm/peer-book.js';
export { GuardedWire, type ViolationReason } from './wire/guarded-wire.js';
export * as wireLimits from './wire/limits.js';

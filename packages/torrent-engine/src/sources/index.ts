/**
 * Peer sources: where the engine learns of peers. See docs/design/peer-sources.md.
 */

export type { AnnounceEvent, AnnounceOptions, AnnounceRequest, AnnounceResponse } from './announce.js';
export { type BDict, type BdecodeLimits, type BValue, bdecode } from './bdecode.js';
export { DhtSource, type DhtSourceOptions, dhtSource } from './dht-source.js';
export { SOURCE_ERROR_CODES, SourceError, type SourceErrorCode } from './errors.js';
export {
  buildAnnounceUrl,
  httpAnnounce,
  parseHttpAnnounceResponse,
  percentEncodeBytes,
} from './http-tracker.js';
export { PEER_ID_PREFIX, randomPeerId } from './identity.js';
export { PeerSourceSet, type PeerSourceSetOptions, type PeerSourceStatus } from './peer-source-set.js';
export {
  encodeCompactV4,
  encodeCompactV6,
  normalizePeer,
  parseCompactV4,
  parseCompactV6,
  peerKey,
} from './peers.js';
export {
  PEX_FLAGS,
  PEX_MAX_PAYLOAD_BYTES,
  PEX_MAX_PEERS,
  type PexPeer,
  type PexResult,
  parsePex,
} from './pex.js';
export { isSupportedTrackerUrl, normalizeTiers } from './policy.js';
export { StaticSource, staticSource } from './static-source.js';
export { type TrackerSourceOptions, TrackerTierSource, trackerSources } from './tracker-source.js';
export type { DhtLike, PeerAddress, PeerSource, PeerSourceContext } from './types.js';
export { type UdpAnnounceOptions, udpAnnounce } from './udp-tracker.js';

export { type ApiHandle, buildApi, type DhtService } from './api.js';
export {
  type Ed25519Keypair,
  generateKeypair,
  immutableTarget,
  mutableTarget,
  signMutable,
  verifyMutable,
} from './bep44.js';
export { DhtApiError, DhtClient, type FindPeersOptions, type PutMutableOptions } from './client.js';
export { type DaemonOptions, type DhtDaemon, startDhtDaemon } from './daemon.js';
export { API_ERRORS, ApiError, type ApiErrorCode } from './errors.js';
export type { AnnounceEntry, DhtStatus, MutableItem, PeerAddress } from './types.js';

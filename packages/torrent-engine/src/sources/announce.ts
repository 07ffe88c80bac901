/**
 * What a tracker announce sends and gets back, for both transports (HTTP in http-tracker.ts,
 * UDP in udp-tracker.ts). Plain data; the policy of when to announce lives in tracker-source.ts.
 */
import type { PeerAddress } from './types.js';

export type AnnounceEvent = 'started' | 'completed' | 'stopped';

export interface AnnounceRequest {
  infohash: Uint8Array; // 20 bytes
  peerId: Uint8Array; // 20 bytes
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event?: AnnounceEvent;
  /** How many peers we ask for. */
  numwant: number;
  /** Random per-process 32-bit value that lets a tracker recognise us across IP changes (BEP 3 `key`). */
  key: number;
  /** The `tracker id` an HTTP tracker gave us earlier, sent back as `trackerid`. */
  trackerId?: string;
}

export interface AnnounceResponse {
  peers: PeerAddress[];
  /** Seconds until the next regular announce, as the tracker said (clamping is the caller's policy). */
  interval: number;
  /** Seconds under which the tracker asks not to be re-announced to (HTTP `min interval`). */
  minInterval?: number;
  trackerId?: string;
  /** Seeders and leechers, when the tracker says. */
  complete?: number;
  incomplete?: number;
  /** HTTP `warning message`: the announce worked, but the tracker has something to say. */
  warning?: string;
}

export interface AnnounceOptions {
  /** Whole-announce deadline, connection included. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Peers more than this per response are dropped: we ask for at most a few hundred. */
export const MAX_PEERS_PER_RESPONSE = 2000;

export function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new TypeError(`infohash must be 40 hex characters, got "${hex}"`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

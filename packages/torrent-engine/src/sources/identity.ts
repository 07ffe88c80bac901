/** Per-process identity sent to trackers when the engine gives none. */
import { randomBytes } from 'node:crypto';

/** Azureus-style client prefix (BEP 20): "-DR0100-" = Dream 0.1.0, then 12 random bytes. */
export const PEER_ID_PREFIX = '-DR0100-';

export function randomPeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(Buffer.from(PEER_ID_PREFIX, 'latin1'), 0);
  id.set(randomBytes(12), 8);
  return id;
}

let processPeerId: Uint8Array | undefined;
/** One peer id per process, made on first use. */
export function defaultPeerId(): Uint8Array {
  processPeerId ??= randomPeerId();
  return processPeerId;
}

/**
 * BEP 3 `key`: lets a tracker recognise us if our IP changes. One per process is what clients do;
 * it is not a secret worth more than that.
 */
export const processKey: number = randomBytes(4).readUInt32BE(0);

// How many connected peers have each piece: the "rarest" in rarest-first. The engine may keep this
// up to date incrementally and pass it in the snapshot; otherwise it is counted here, from the
// bitfields' bytes when they expose them (a byte at a time, not a bit at a time).
import type { PeerState } from './types.js';

export function availabilityOf(peers: readonly PeerState[], pieceCount: number): Uint32Array {
  const counts = new Uint32Array(pieceCount);
  for (const p of peers) {
    const bytes = typeof p.has.toBytes === 'function' ? p.has.toBytes() : undefined;
    if (!bytes) {
      for (let i = 0; i < pieceCount; i++) if (p.has.get(i)) counts[i]!++;
      continue;
    }
    const n = Math.min(bytes.length, Math.ceil(pieceCount / 8));
    for (let byte = 0; byte < n; byte++) {
      const v = bytes[byte]!;
      if (v === 0) continue;
      const base = byte * 8;
      const end = Math.min(8, pieceCount - base);
      // BitTorrent order: bit 0 of the field is the high bit of byte 0.
      for (let bit = 0; bit < end; bit++) if (v & (0x80 >> bit)) counts[base + bit]!++;
    }
  }
  return counts;
}

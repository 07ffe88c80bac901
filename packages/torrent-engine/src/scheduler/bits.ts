// Piece sets as packed bytes (BitTorrent order: bit 0 is the high bit of byte 0). The planner tests
// bits millions of times per call for big swarms; a byte array and a shift beat a method call with
// range checks by a wide margin. Bitfield.toBytes() gives the bytes directly; any other PieceBits
// is packed once.
import type { PieceBits } from './types.js';

export function packBits(bits: PieceBits, length: number): Uint8Array {
  const size = Math.ceil(length / 8);
  if (typeof bits.toBytes === 'function') {
    const bytes = bits.toBytes();
    if (bytes.length >= size) return bytes;
    const padded = new Uint8Array(size);
    padded.set(bytes);
    return padded;
  }
  const bytes = new Uint8Array(size);
  const n = Math.min(length, bits.length);
  for (let i = 0; i < n; i++) if (bits.get(i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return bytes;
}

/** Is bit i set? Out of range reads as unset. */
export function bit(bytes: Uint8Array, i: number): boolean {
  return ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
}

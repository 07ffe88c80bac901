// How many connected peers have each piece: the "rarest" in rarest-first. The engine may keep this
// up to date incrementally (HAVE/BITFIELD) and pass it in the snapshot; otherwise it is counted
// here from the peers' packed bitfields.
//
// Counting 200 peers x 10,000 pieces bit by bit is 2 million steps per plan. Instead each 32-bit
// word of a bitfield is added into "bit-sliced" counters (plane k holds bit k of every piece's
// count, 32 pieces per word, a carry chain of about two steps per word), and the counts are read
// out once at the end: about 20 times fewer steps.
import { packBits } from './bits.js';
import type { PeerState } from './types.js';

export function availabilityOf(peers: readonly PeerState[], pieceCount: number): Uint32Array {
  return countAvailability(
    peers.map((p) => packBits(p.has, pieceCount)),
    pieceCount,
  );
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function countAvailability(packed: readonly Uint8Array[], pieceCount: number): Uint32Array {
  return LITTLE_ENDIAN ? countSliced(packed, pieceCount) : countSimple(packed, pieceCount);
}

function countSliced(packed: readonly Uint8Array[], pieceCount: number): Uint32Array {
  const size = Math.ceil(pieceCount / 8);
  const words = Math.ceil(size / 4);
  let planes = 1;
  while (2 ** planes <= packed.length) planes++;
  // Int32, not Uint32: bitwise results stay small integers for the JIT instead of boxed doubles.
  const counters = new Int32Array(words * planes);
  const scratch = new Uint8Array(words * 4);
  const scratchWords = new Int32Array(scratch.buffer);
  for (const bytes of packed) {
    scratch.fill(0);
    scratch.set(bytes.length > size ? bytes.subarray(0, size) : bytes);
    for (let w = 0; w < words; w++) {
      let carry = scratchWords[w]!;
      for (let k = 0; carry !== 0 && k < planes; k++) {
        const i = k * words + w;
        const c = counters[i]!;
        counters[i] = c ^ carry;
        carry = c & carry;
      }
    }
  }
  const counts = new Uint32Array(pieceCount);
  for (let k = 0; k < planes; k++) {
    const weight = 1 << k;
    for (let w = 0; w < words; w++) {
      let v = counters[k * words + w]!;
      while (v !== 0) {
        const low = v & -v;
        v ^= low;
        const j = 31 - Math.clz32(low);
        // Little-endian: bit j of word w is bit (j & 7) from the low end of byte 4w + (j >> 3),
        // which in BitTorrent order (high bit first) is piece ((4w + (j >> 3)) * 8 + 7 - (j & 7)).
        const piece = (4 * w + (j >> 3)) * 8 + 7 - (j & 7);
        if (piece < pieceCount) counts[piece]! += weight;
      }
    }
  }
  return counts;
}

function countSimple(packed: readonly Uint8Array[], pieceCount: number): Uint32Array {
  const counts = new Uint32Array(pieceCount);
  const size = Math.ceil(pieceCount / 8);
  for (const bytes of packed) {
    const n = Math.min(bytes.length, size);
    for (let byte = 0; byte < n; byte++) {
      const v = bytes[byte]!;
      if (v === 0) continue;
      const base = byte * 8;
      const end = Math.min(8, pieceCount - base);
      for (let b = 0; b < end; b++) if (v & (0x80 >> b)) counts[base + b]!++;
    }
  }
  return counts;
}

/** The straightforward count, exported for tests to compare against. */
export const countAvailabilitySimple = countSimple;

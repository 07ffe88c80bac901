/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB blocks. A node is SHA-256(left || right); leaves past
 * the end of a file are 32 zero bytes, and a tree is as wide as the next power of two of its
 * leaves. See docs/design/block-verification.md.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;
/** The leaf size of every v2 tree, whatever the piece length. */
export const LEAF_BYTES = 16 * 1024;
const ZERO_LEAF = new Uint8Array(HASH_BYTES);

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function pair(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(left).update(right).digest();
}

/** The root of a subtree of 2^height zero leaves (what pads a layer up to a power of two). */
export function zeroRoot(height: number): Uint8Array {
  let h: Uint8Array = ZERO_LEAF;
  for (let i = 0; i < height; i++) h = pair(h, h);
  return h;
}

/** Smallest power of two >= n (n >= 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The root over `hashes` (concatenated 32-byte nodes of one layer), padded to `width` nodes with
 * `pad` (the root of an all-zero subtree of that layer's height). `width` is a power of two.
 */
export function merkleRoot(hashes: Uint8Array, width: number, pad: Uint8Array = ZERO_LEAF): Uint8Array {
  const count = hashes.length / HASH_BYTES;
  if (!Number.isInteger(count) || count > width) throw new RangeError(`${count} hashes do not fit ${width}`);
  let layer: Uint8Array[] = [];
  for (let i = 0; i < width; i++) {
    layer.push(i < count ? hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES) : pad);
  }
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2)
      next.push(pair(layer[i] as Uint8Array, layer[i + 1] as Uint8Array));
    layer = next;
  }
  return layer[0] as Uint8Array;
}

export function log2(powerOfTwo: number): number {
  return Math.round(Math.log2(powerOfTwo));
}

// Deterministic tie-breaking: the same (seed, piece) always gives the same number, so a plan is a
// function of its snapshot. Different seeds (the engine can pass one per session or per peer set)
// spread swarm members over different pieces among equally rare ones.

/** A 32-bit integer hash (the "lowbias32" mixer): good avalanche, a few multiplications. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export function tieBreak(seed: number, piece: number): number {
  return mix32(piece ^ mix32(seed | 0));
}

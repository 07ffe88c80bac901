// Piece and block arithmetic. The last piece is shorter when the total length is not a multiple of
// the piece length, and the last block of any piece is shorter when the piece length is not a
// multiple of the block size (always true for the last piece of most torrents).

export interface Geometry {
  pieceCount: number;
  pieceLength: number;
  blockSize: number;
  totalLength: number;
  /** Blocks in a full-size piece: the stride of block keys. */
  blocksPerPiece: number;
}

export function geometryOf(s: {
  pieceCount: number;
  pieceLength: number;
  blockSize: number;
  totalLength: number;
}): Geometry {
  const { pieceCount, pieceLength, blockSize, totalLength } = s;
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0)
    throw new RangeError(`scheduler: pieceLength ${pieceLength} must be a positive integer`);
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0)
    throw new RangeError(`scheduler: blockSize ${blockSize} must be a positive integer`);
  if (!Number.isSafeInteger(pieceCount) || pieceCount < 0)
    throw new RangeError(`scheduler: pieceCount ${pieceCount} must be a non-negative integer`);
  const expected = Math.ceil(totalLength / pieceLength);
  if (!Number.isSafeInteger(totalLength) || totalLength < 0 || expected !== pieceCount)
    throw new RangeError(
      `scheduler: totalLength ${totalLength} with pieceLength ${pieceLength} makes ${expected} pieces, not ${pieceCount}`,
    );
  return {
    pieceCount,
    pieceLength,
    blockSize,
    totalLength,
    blocksPerPiece: Math.ceil(pieceLength / blockSize),
  };
}

export function pieceSize(g: Geometry, piece: number): number {
  return piece < g.pieceCount - 1 ? g.pieceLength : g.totalLength - (g.pieceCount - 1) * g.pieceLength;
}

export function blockCount(g: Geometry, piece: number): number {
  return Math.ceil(pieceSize(g, piece) / g.blockSize);
}

export function blockLength(g: Geometry, piece: number, block: number): number {
  return Math.min(g.blockSize, pieceSize(g, piece) - block * g.blockSize);
}

/** A block's identity as one number: piece * blocksPerPiece + block index. */
export function blockKey(g: Geometry, piece: number, block: number): number {
  return piece * g.blocksPerPiece + block;
}

/** Pieces overlapping the byte range [start, end), or undefined when it is empty. */
export function piecesOverlapping(g: Geometry, start: number, end: number): [number, number] | undefined {
  const s = Math.max(0, start);
  const e = Math.min(g.totalLength, end);
  if (e <= s) return undefined;
  return [Math.floor(s / g.pieceLength), Math.floor((e - 1) / g.pieceLength)];
}

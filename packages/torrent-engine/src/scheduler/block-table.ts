// Requests out per block, indexed by piece then block: a dense array over pieces (one slot each)
// holding, for pieces with requests, an array over their blocks. Tens of thousands of in-flight
// requests are indexed per plan; this costs a fraction of a Map keyed by block.

export interface Out {
  peerId: string;
  /** When it was sent (ms); unset for requests planned now. */
  requestedAt?: number;
  length: number;
  /** Cancelled by this plan (preempted): still listed so the same peer is not asked again. */
  dead?: boolean;
}

export class BlockTable {
  private readonly pieces: (Out[] | undefined)[][];

  constructor(pieceCount: number) {
    this.pieces = new Array(pieceCount);
  }

  get(piece: number, block: number): Out[] | undefined {
    return this.pieces[piece]?.[block];
  }

  add(piece: number, block: number, out: Out): void {
    let blocks = this.pieces[piece];
    if (!blocks) this.pieces[piece] = blocks = [];
    const list = blocks[block];
    if (list) list.push(out);
    else blocks[block] = [out];
  }

  /** Has any block of the piece ever been requested (in this table)? */
  started(piece: number): boolean {
    return this.pieces[piece] !== undefined;
  }

  forEach(fn: (piece: number, block: number, list: Out[]) => void): void {
    this.pieces.forEach((blocks, piece) => {
      blocks.forEach((list, block) => {
        if (list) fn(piece, block, list);
      });
    });
  }
}

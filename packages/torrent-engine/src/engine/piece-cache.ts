/**
 * Whole verified pieces kept for serving: peers ask for a piece in 16 KiB blocks, usually all of
 * them, so one read per piece instead of one per block (64 reads of a 1 MiB piece) cuts the
 * syscalls and allocations of seeding; blocks go out as views into the cached piece. Bounded by
 * bytes; least recently used first out. Readers of the same piece share one pending read.
 */
export const PIECE_CACHE_BYTES = 8 * 1024 * 1024;

export class PieceCache {
  private readonly pieces = new Map<number, Promise<Uint8Array>>();
  private readonly sizes = new Map<number, number>();
  private bytes = 0;

  constructor(
    private readonly read: (index: number) => Promise<Uint8Array>,
    private readonly maxBytes = PIECE_CACHE_BYTES,
  ) {}

  async block(index: number, size: number, begin: number, length: number): Promise<Uint8Array> {
    let p = this.pieces.get(index);
    if (p) {
      // Refresh its place in the LRU order.
      this.pieces.delete(index);
      this.pieces.set(index, p);
    } else {
      p = this.read(index);
      this.pieces.set(index, p);
      this.sizes.set(index, size);
      this.bytes += size;
      p.catch(() => this.drop(index));
      while (this.bytes > this.maxBytes && this.pieces.size > 1) {
        const oldest = this.pieces.keys().next().value as number;
        this.drop(oldest);
      }
    }
    const piece = await p;
    return piece.subarray(begin, begin + length);
  }

  clear(): void {
    this.pieces.clear();
    this.sizes.clear();
    this.bytes = 0;
  }

  private drop(index: number): void {
    if (!this.pieces.delete(index)) return;
    this.bytes -= this.sizes.get(index) ?? 0;
    this.sizes.delete(index);
  }
}

/**
 * Whole verified pieces kept for serving: peers ask for a piece in 16 KiB blocks, usually all of
 * them, so one read per piece instead of one per block (64 reads of a 1 MiB piece) cuts the
 * syscalls and allocations of seeding; blocks go out as views into the cached piece. Bounded by
 * bytes; least recently used first out. Readers of the same piece share one pending read.
 *
 * A piece's buffer is reused for a later piece once it has left the cache and every block lent out
 * of it is back from the sockets (wire/socket-loans). Why: seeding at 120 MiB/s read 120 fresh
 * 1 MiB buffers a second; each lived long enough (cached, then queued on a socket) to survive a
 * young-generation collection, so they piled up until a full one, 20–25 MiB of dead buffers at the
 * peaks (`process.memoryUsage().arrayBuffers` 40 MiB, of which 19 MiB live after a forced GC).
 */
import { type SocketLoans, socketLoans } from '../wire/socket-loans.js';

export const PIECE_CACHE_BYTES = 8 * 1024 * 1024;

/** Buffers kept for reuse beyond the cache's own: enough for the pieces whose blocks are in flight. */
const MAX_SPARE_BUFFERS = 4;

interface CachedPiece {
  buf: Uint8Array;
  /** Settles when the read has filled `buf` (or failed). */
  ready: Promise<void>;
}

export class PieceCache {
  private readonly pieces = new Map<number, CachedPiece>();
  private bytes = 0;
  private readonly spare: Uint8Array[] = [];
  /** Reads that went into a reused buffer (for tests and the design page's figures). */
  reused = 0;

  constructor(
    private readonly read: (index: number, into: Uint8Array) => Promise<void>,
    private readonly maxBytes = PIECE_CACHE_BYTES,
    private readonly loans: SocketLoans = socketLoans,
  ) {}

  /**
   * A view of `length` bytes at `begin` of piece `index` (`size` bytes long), lent to the caller:
   * it must reach a socket through the write pump, which gives it back once written. A view the
   * caller drops keeps its buffer from reuse (see socket-loans), nothing worse.
   */
  async block(index: number, size: number, begin: number, length: number): Promise<Uint8Array> {
    let piece = this.pieces.get(index);
    if (piece) {
      // Refresh its place in the LRU order.
      this.pieces.delete(index);
      this.pieces.set(index, piece);
    } else {
      const buf = this.allocate(size);
      const created: CachedPiece = { buf, ready: this.read(index, buf) };
      piece = created;
      this.pieces.set(index, created);
      this.bytes += size;
      created.ready.catch(() => {
        if (this.pieces.get(index) === created) this.evict(index, created);
      });
    }
    // Lent before waiting: a piece evicted while its read is pending must not be reused under us.
    this.loans.lend(piece.buf.buffer);
    while (this.bytes > this.maxBytes && this.pieces.size > 1) {
      const [oldest, entry] = this.pieces.entries().next().value as [number, CachedPiece];
      this.evict(oldest, entry);
    }
    try {
      await piece.ready;
    } catch (err) {
      this.loans.giveBack(piece.buf);
      throw err;
    }
    return piece.buf.subarray(begin, begin + length);
  }

  clear(): void {
    this.pieces.clear();
    this.bytes = 0;
    this.spare.length = 0;
  }

  private allocate(size: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.length === size);
    if (i < 0) return new Uint8Array(size);
    this.reused++;
    return this.spare.splice(i, 1)[0] as Uint8Array;
  }

  private evict(index: number, piece: CachedPiece): void {
    if (!this.pieces.delete(index)) return;
    this.bytes -= piece.buf.length;
    // Reusable once its read is over and its blocks are back; a failed read's buffer too (the
    // next read overwrites every byte).
    const recycle = () => {
      if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(piece.buf);
    };
    piece.ready.then(
      () => this.loans.whenIdle(piece.buf.buffer, recycle),
      () => this.loans.whenIdle(piece.buf.buffer, recycle),
    );
  }
}

/**
 * Verified torrent bytes kept for serving, in spans: a whole piece, or a 1 MiB span of a larger
 * one. Peers ask for a piece in 16 KiB blocks, usually all of them, so one read per span instead of
 * one per block (64 reads of a 1 MiB piece) cuts the syscalls and allocations of seeding; blocks go
 * out as views into the cached span. Bounded by bytes; least recently used first out. Readers of
 * the same span share one pending read.
 *
 * Why spans and not whole pieces: qBittorrent and libtorrent pick 4–16 MiB pieces for large files.
 * Cached whole, two or three peers fetching different 16 MiB pieces pushed each other's piece out of
 * an 8 MiB cache, and every block they asked for read its whole piece again: seeding 256 MiB to
 * three libtorrent leechers read 39 GB from disk (51 bytes per byte sent) at 37 MiB/s.
 *
 * A span's buffer is reused for a later span once it has left the cache and every block lent out
 * of it is back from the sockets (wire/socket-loans). Why: seeding at 120 MiB/s read 120 fresh
 * 1 MiB buffers a second; each lived long enough (cached, then queued on a socket) to survive a
 * young-generation collection, so they piled up until a full one, 20–25 MiB of dead buffers at the
 * peaks (`process.memoryUsage().arrayBuffers` 40 MiB, of which 19 MiB live after a forced GC).
 */
import { MAX_PIECE_LENGTH } from '../metainfo/index.js';
import { type SocketLoans, socketLoans } from '../wire/socket-loans.js';

export const PIECE_CACHE_BYTES = 8 * 1024 * 1024;

/** The unit read and cached: a piece of at most this size is one span. */
export const SPAN_BYTES = 1024 * 1024;

/** Spans per piece in the cache's keys: more than the largest piece the parser accepts holds. */
const KEY_STRIDE = MAX_PIECE_LENGTH / SPAN_BYTES;

/** Buffers kept for reuse beyond the cache's own: enough for the spans whose blocks are in flight. */
const MAX_SPARE_BUFFERS = 4;

/** Reads `into.length` verified bytes of piece `index` from byte `begin` of it into `into`. */
export type ReadSpan = (index: number, begin: number, into: Uint8Array) => Promise<void>;

interface CachedSpan {
  buf: Uint8Array;
  /** Settles when the read has filled `buf` (or failed). */
  ready: Promise<void>;
}

export class PieceCache {
  private readonly spans = new Map<number, CachedSpan>();
  private bytes = 0;
  private readonly spare: Uint8Array[] = [];
  /** Reads that went into a reused buffer (for tests and the design page's figures). */
  reused = 0;

  constructor(
    private readonly read: ReadSpan,
    private readonly maxBytes = PIECE_CACHE_BYTES,
    private readonly loans: SocketLoans = socketLoans,
  ) {}

  /**
   * A view of `length` bytes at `begin` of piece `index` (`size` bytes long), lent to the caller:
   * it must reach a socket through the write pump, which gives it back once written. A view the
   * caller drops keeps its buffer from reuse (see socket-loans), nothing worse.
   */
  async block(index: number, size: number, begin: number, length: number): Promise<Uint8Array> {
    const span = Math.floor(begin / SPAN_BYTES);
    const spanStart = span * SPAN_BYTES;
    const spanSize = Math.min(SPAN_BYTES, size - spanStart);
    if (begin + length > spanStart + spanSize) return this.uncached(index, begin, length);
    const key = index * KEY_STRIDE + span;
    let cached = this.spans.get(key);
    if (cached) {
      // Refresh its place in the LRU order.
      this.spans.delete(key);
      this.spans.set(key, cached);
    } else {
      const buf = this.allocate(spanSize);
      const created: CachedSpan = { buf, ready: this.read(index, spanStart, buf) };
      cached = created;
      this.spans.set(key, created);
      this.bytes += spanSize;
      created.ready.catch(() => {
        if (this.spans.get(key) === created) this.evict(key, created);
      });
    }
    // Lent before waiting: a span evicted while its read is pending must not be reused under us.
    this.loans.lend(cached.buf.buffer);
    while (this.bytes > this.maxBytes && this.spans.size > 1) {
      const [oldest, entry] = this.spans.entries().next().value as [number, CachedSpan];
      this.evict(oldest, entry);
    }
    try {
      await cached.ready;
    } catch (err) {
      this.loans.giveBack(cached.buf);
      throw err;
    }
    return cached.buf.subarray(begin - spanStart, begin - spanStart + length);
  }

  clear(): void {
    this.spans.clear();
    this.bytes = 0;
    this.spare.length = 0;
  }

  /**
   * A block across a span boundary (peers ask for aligned 16 KiB blocks; a request of another size
   * or offset may cross one): read on its own, never cached nor reused.
   */
  private async uncached(index: number, begin: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.read(index, begin, buf);
    return buf;
  }

  private allocate(size: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.length === size);
    if (i < 0) return new Uint8Array(size);
    this.reused++;
    return this.spare.splice(i, 1)[0] as Uint8Array;
  }

  private evict(key: number, span: CachedSpan): void {
    if (!this.spans.delete(key)) return;
    this.bytes -= span.buf.length;
    // Reusable once its read is over and its blocks are back; a failed read's buffer too (the
    // next read overwrites every byte).
    const recycle = () => {
      if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(span.buf);
    };
    span.ready.then(
      () => this.loans.whenIdle(span.buf.buffer, recycle),
      () => this.loans.whenIdle(span.buf.buffer, recycle),
    );
  }
}

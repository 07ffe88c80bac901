/**
 * Memory lent to sockets. A block sent to a peer is a view into a cached piece (engine/piece-cache),
 * and the socket holds that view until the kernel has taken the bytes: the piece's buffer may be
 * reused for another piece only once every block lent out of it has come back. The piece cache
 * lends (one count per block it hands out, from the moment it is asked for); the write pump
 * (write-coalescing) gives back once the socket has written the chunk, failed to, or dropped it.
 *
 * Keyed by ArrayBuffer in a WeakMap: a block that never comes back (bittorrent-protocol drops the
 * answer to a request the peer cancelled meanwhile) only keeps its buffer from being reused; the
 * garbage collector still frees it. A count can err only towards "still lent", never towards
 * reusing memory a socket may still read.
 */
export class SocketLoans {
  private readonly loans = new WeakMap<ArrayBufferLike, { out: number; idle?: () => void }>();

  /** One more block of `buffer` handed out. */
  lend(buffer: ArrayBufferLike): void {
    const loan = this.loans.get(buffer);
    if (loan) loan.out++;
    else this.loans.set(buffer, { out: 1 });
  }

  /** A chunk the socket no longer needs; a no-op for memory nobody lent. */
  giveBack(chunk: Uint8Array): void {
    const loan = this.loans.get(chunk.buffer);
    if (!loan || loan.out === 0) return;
    loan.out--;
    if (loan.out > 0 || !loan.idle) return;
    const idle = loan.idle;
    loan.idle = undefined;
    idle();
  }

  /** Blocks of `buffer` handed out and not yet back. */
  outstanding(buffer: ArrayBufferLike): number {
    return this.loans.get(buffer)?.out ?? 0;
  }

  /** Calls `idle` once nothing of `buffer` is lent (at once when nothing is). */
  whenIdle(buffer: ArrayBufferLike, idle: () => void): void {
    const loan = this.loans.get(buffer);
    if (!loan || loan.out === 0) idle();
    else loan.idle = idle;
  }
}

/**
 * The process's loans: one registry, because the pump that gives back (per connection, set up
 * before the torrent is known) and the caches that lend (per torrent) meet only in the socket.
 */
export const socketLoans = new SocketLoans();

/**
 * Blocks of one piece gathered in a single piece-sized buffer (one copy per block, no
 * concatenation), with who sent which block: after a hash failure the culprit is found by
 * comparing each block against the piece once it verifies (libtorrent's "smart ban").
 */
import { createHash } from 'node:crypto';
import { Bitfield } from '../bitfield.js';
import { BLOCK_SIZE } from '../wire/limits.js';

export class PieceAssembly {
  readonly buf: Buffer;
  readonly received: Bitfield;
  /** Who sent each block: the peer's ban key (listen address). */
  readonly senders: (string | undefined)[];
  /** Blocks checked against their BEP 52 leaf hash (block-verifier.ts): readable before the piece. */
  readonly checked: Bitfield;
  count = 0;
  /** Complete and being written/verified: no more blocks accepted. */
  writing = false;

  constructor(
    readonly index: number,
    readonly size: number,
    pool?: BufferPool,
  ) {
    this.buf = pool ? pool.take(size) : Buffer.allocUnsafe(size);
    const blocks = Math.ceil(size / BLOCK_SIZE);
    this.received = new Bitfield(blocks);
    this.checked = new Bitfield(blocks);
    this.senders = new Array(blocks);
  }

  /** Forgets a block that failed its leaf hash: it is requested again. */
  drop(b: number): void {
    if (this.writing || !this.received.get(b)) return;
    this.received.set(b, false);
    this.checked.set(b, false);
    this.senders[b] = undefined;
    this.count--;
  }

  /** Bytes from `begin` (piece-relative) covered by checked blocks, contiguously. */
  checkedBytesFrom(begin: number): number {
    let b = Math.floor(begin / BLOCK_SIZE);
    while (b < this.blocks && this.checked.get(b)) b++;
    return Math.max(0, Math.min(this.size, b * BLOCK_SIZE) - begin);
  }

  get blocks(): number {
    return this.received.length;
  }

  /** Stores a block; false when it does not fit or is already there (endgame duplicate). */
  add(begin: number, block: Uint8Array, sender: string): boolean {
    if (this.writing || begin % BLOCK_SIZE !== 0) return false;
    const b = begin / BLOCK_SIZE;
    const expected = Math.min(BLOCK_SIZE, this.size - begin);
    if (b >= this.blocks || block.length !== expected || this.received.get(b)) return false;
    this.buf.set(block, begin);
    this.received.set(b);
    this.senders[b] = sender;
    this.count++;
    return true;
  }

  get complete(): boolean {
    return this.count === this.blocks;
  }

  /** The distinct senders of this piece. */
  contributors(): Set<string> {
    return new Set(this.senders.filter((s): s is string => s !== undefined));
  }

  /** Per-block digests kept after a hash failure, to convict the sender later. */
  fingerprints(): BlockPrint[] {
    const out: BlockPrint[] = [];
    for (let b = 0; b < this.blocks; b++) {
      const sender = this.senders[b];
      if (!sender) continue;
      const begin = b * BLOCK_SIZE;
      const end = Math.min(this.size, begin + BLOCK_SIZE);
      out.push({ block: b, sender, digest: sha1(this.buf.subarray(begin, end)) });
    }
    return out;
  }
}

/**
 * Piece buffers are reused: a fresh 1 MiB Buffer per piece is an external allocation the GC must
 * track and free (a fifth of the CPU of a 200 MiB download went to the collector), and reuse keeps
 * the resident set flat.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(private readonly max = 16) {}

  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length === size);
    if (i >= 0) return this.free.splice(i, 1)[0] as Buffer;
    return Buffer.allocUnsafe(size);
  }

  give(buf: Buffer): void {
    if (this.free.length < this.max) this.free.push(buf);
  }
}

export interface BlockPrint {
  block: number;
  sender: string;
  digest: string;
}

/** Senders whose recorded block differs from the verified piece `data`. */
export function convict(prints: BlockPrint[], data: Uint8Array): Set<string> {
  const guilty = new Set<string>();
  for (const p of prints) {
    const begin = p.block * BLOCK_SIZE;
    const block = data.subarray(begin, Math.min(data.length, begin + BLOCK_SIZE));
    if (sha1(block) !== p.digest) guilty.add(p.sender);
  }
  return guilty;
}

function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

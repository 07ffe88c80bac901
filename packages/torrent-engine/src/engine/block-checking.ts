/**
 * A torrent's side of checking single blocks of hybrid torrents (BEP 52): what to ask whom, what
 * to do with answers and arriving blocks, and what to answer peers who ask us. The pure rules
 * (which leaves, do they fit, which questions we answer) are block-verifier.ts; the torrent owns
 * peers, pieces in assembly and bans, and is reached through BlockCheckingHost.
 * See docs/design/block-verification.md.
 */
import type { Bitfield } from '../bitfield.js';
import type { TorrentMeta } from '../metainfo/index.js';
import { HASH_BYTES } from '../metainfo/merkle.js';
import type { ReaderState } from '../scheduler/types.js';
import type { PieceStore } from '../storage/index.js';
import type { Peer } from '../swarm/peer.js';
import type { HashAnswer, HashQuestion } from '../wire/guarded-wire.js';
import { BLOCK_SIZE } from '../wire/limits.js';
import type { PieceAssembly } from './assembly.js';
import { BlockVerifier, blockFits, hashLeaves } from './block-verifier.js';

/** Piece reads for hash requests one peer may have in progress; more are declined. */
const HASH_JOBS_PER_PEER = 2;
/** Pieces whose served leaves are kept (2 KiB each for 1 MiB pieces). */
const SERVED_LEAVES_KEPT = 32;
/** A piece is read for its leaves this much at a time (a multiple of 16 KiB). */
const READ_SPAN_BYTES = 1024 * 1024;

export interface BlockCheckingHost {
  meta(): TorrentMeta | undefined;
  store(): PieceStore | undefined;
  /** Whether the torrent is hybrid with files whose blocks can be checked (Torrent.v2HandshakeHash). */
  hybrid(): boolean;
  peers(): Iterable<Peer>;
  readers(): Iterable<ReaderState>;
  /** The piece being assembled, if any. */
  assembly(piece: number): PieceAssembly | undefined;
  ban(peer: Peer, reason: string): void;
  banKey(key: string, reason: string): void;
  wasted(bytes: number): void;
  schedulePlan(): void;
  /** More of a piece's blocks were checked and can be read ('blocks'). */
  readable(piece: number): void;
}

export class BlockChecking {
  private verifier_: BlockVerifier | undefined;
  private blockwise_: Bitfield | undefined;
  /** Leaves we served lately, by piece (insertion order: the oldest goes first). */
  private readonly servedLeaves = new Map<number, Buffer>();
  /** Hash requests being answered (piece reads in progress), per peer id. */
  private readonly hashJobs = new Map<string, number>();

  constructor(private readonly host: BlockCheckingHost) {}

  /** The verifier, once the metadata is known, for a hybrid torrent whose blocks can be checked. */
  private verifier(): BlockVerifier | undefined {
    const meta = this.host.meta();
    if (this.verifier_ || !meta || !this.host.hybrid()) return this.verifier_;
    this.verifier_ = new BlockVerifier(meta);
    this.blockwise_ = this.verifier_.blockwisePieces();
    return this.verifier_;
  }

  /** The pieces readable block by block, for the planner; undefined for other torrents. */
  blockwise(): Bitfield | undefined {
    return this.verifier() ? this.blockwise_ : undefined;
  }

  /** The leaves held for a piece (for tests and the design page's claims). */
  leavesHeld(piece: number): boolean {
    return this.verifier_?.leavesOf(piece) !== undefined;
  }

  /**
   * Asks for the leaf hashes of the piece each reader stands in, and of the next one in its window
   * (a reader crossing into a big piece still on its way need not wait a round trip for them), when
   * their blocks can be checked one by one. A torrent from a magnet asks for the file's layer first.
   */
  askForLeaves(now: number): void {
    const verifier = this.verifier();
    const meta = this.host.meta();
    const store = this.host.store();
    if (!verifier || !meta || !store) return;
    for (const r of this.host.readers()) {
      if (r.start >= r.end) continue;
      const first = Math.floor(r.start / meta.pieceLength);
      const last = Math.min(first + 1, Math.floor((r.end - 1) / meta.pieceLength));
      for (let piece = first; piece <= last; piece++) {
        if (store.isVerified(piece)) continue;
        if (verifier.shouldAskLayer(piece, now)) {
          const q = verifier.layerQuestion(piece);
          const peer = this.hashPeer(verifier, piece, now, 'layer');
          if (q && peer) {
            peer.wire.hashRequest(q.root, q.baseLayer, q.index, q.length, q.proofLayers);
            verifier.markAskedLayer(piece, peer.id, now);
          }
          continue;
        }
        if (!verifier.shouldAsk(piece, now)) continue;
        const tree = verifier.tree(piece);
        const peer = this.hashPeer(verifier, piece, now, 'leaves');
        if (!peer || !tree) continue;
        peer.wire.hashRequest(tree.root, 0, tree.index, tree.length, 0);
        verifier.markAsked(piece, peer.id, now);
      }
    }
  }

  /**
   * Whom to ask for a piece's leaves (or its file's layer): a peer on an upgraded (v2) connection
   * that has the piece and has not just declined the question, the least busy.
   */
  private hashPeer(
    verifier: BlockVerifier,
    piece: number,
    now: number,
    what: 'leaves' | 'layer',
  ): Peer | undefined {
    let best: Peer | undefined;
    for (const p of this.host.peers()) {
      if (!p.wire.v2 || !p.has?.get(piece) || p.wire.destroyed) continue;
      if (verifier.declined(piece, p.id, now, what)) continue;
      if (!best || p.inFlight.size < best.inFlight.size) best = p;
    }
    return best;
  }

  onHashAnswer(peer: Peer, answer: HashAnswer): void {
    const verifier = this.verifier_;
    if (!verifier) return;
    const now = Date.now();
    const layer = verifier.onLayerAnswer(answer, peer.id, now);
    if (layer === 'layer') {
      // More pieces can be checked block by block now; their leaves come at the next plan.
      this.blockwise_ = verifier.blockwisePieces();
      this.host.schedulePlan();
      return;
    }
    const piece = layer === 'bad' ? 'bad' : verifier.onAnswer(answer, peer.id, now);
    if (piece === 'bad') {
      this.host.ban(peer, 'sent block hashes that do not hash up to the torrent');
      return;
    }
    if (piece === undefined) {
      this.host.schedulePlan(); // a reject: the next plan asks another peer, if one is left
      return;
    }
    const a = this.host.assembly(piece);
    if (a) this.checkBlocks(a);
  }

  /**
   * A block was added to `a`: checked at once when the piece's leaves are held. false when it
   * failed (dropped, its sender banned).
   */
  onBlock(a: PieceAssembly, begin: number): boolean {
    if (!this.verifier_?.leavesOf(a.index)) return true;
    this.checkBlocks(a);
    return a.received.get(begin / BLOCK_SIZE);
  }

  /** The piece is written: its leaves are not needed any more. */
  pieceDone(piece: number): void {
    this.verifier_?.forget(piece);
  }

  /**
   * Checks the received, unchecked blocks of `a` against their leaves. A block that fails is
   * dropped and its sender banned: the leaves hash up to the torrent, so the block is wrong and we
   * know exactly who sent it.
   */
  private checkBlocks(a: PieceAssembly): void {
    const verifier = this.verifier_;
    const leaves = verifier?.leavesOf(a.index);
    const tree = verifier?.tree(a.index);
    if (!leaves || !tree || a.writing) return;
    let more = false;
    // Each culprit once, by its first bad block (leaves arriving late may find many of its blocks).
    const guilty = new Map<string, string>();
    for (let b = 0; b < tree.dataBlocks; b++) {
      if (!a.received.get(b) || a.checked.get(b)) continue;
      const begin = b * BLOCK_SIZE;
      const data = a.buf.subarray(begin, Math.min(begin + BLOCK_SIZE, tree.dataBytes));
      if (blockFits(leaves, b, data)) {
        a.checked.set(b);
        more = true;
        continue;
      }
      const sender = a.senders[b];
      a.drop(b);
      this.host.wasted(data.length);
      if (sender && !guilty.has(sender))
        guilty.set(sender, `sent block ${b} of piece ${a.index}, which fails its v2 hash`);
    }
    for (const [sender, reason] of guilty) this.host.banKey(sender, reason);
    if (more) this.host.readable(a.index);
  }

  /**
   * A peer asks us: a file's piece layer (what a viewer that came by magnet asks first) from
   * memory; the leaves under a piece we have (what our own engine asks) by reading the piece and
   * hashing its blocks. Leaves are kept for a few pieces, since several viewers seeking to the same
   * place ask for the same ones. At most HASH_JOBS_PER_PEER reads per peer at once; anything else
   * is declined.
   */
  async onHashRequest(peer: Peer, q: HashQuestion): Promise<void> {
    const meta = this.host.meta();
    const store = this.host.store();
    const verifier = this.verifier();
    const layer = verifier?.layerAnswer(q);
    if (layer) {
      peer.wire.hashes(q, layer);
      return;
    }
    const piece = meta && store ? verifier?.pieceAskedFor(q) : undefined;
    const tree = piece === undefined ? undefined : verifier?.tree(piece);
    const jobs = this.hashJobs.get(peer.id) ?? 0;
    if (!meta || piece === undefined || !tree || !store?.have.get(piece) || jobs >= HASH_JOBS_PER_PEER) {
      peer.wire.hashReject(q);
      return;
    }
    let leaves = this.servedLeaves.get(piece);
    if (!leaves) {
      this.hashJobs.set(peer.id, jobs + 1);
      try {
        // In spans, not the whole piece at once: a 64 MiB piece per question per peer adds up.
        const out = Buffer.alloc(tree.length * HASH_BYTES);
        const span = Buffer.allocUnsafe(Math.min(READ_SPAN_BYTES, tree.dataBytes));
        for (let begin = 0; begin < tree.dataBytes; begin += READ_SPAN_BYTES) {
          const view = span.subarray(0, Math.min(READ_SPAN_BYTES, tree.dataBytes - begin));
          await store.readPieceInto(piece, view, begin);
          hashLeaves(tree, out, begin, view);
        }
        leaves = out;
      } catch {
        if (!peer.wire.destroyed) peer.wire.hashReject(q);
        return;
      } finally {
        const left = (this.hashJobs.get(peer.id) ?? 1) - 1;
        if (left > 0) this.hashJobs.set(peer.id, left);
        else this.hashJobs.delete(peer.id);
      }
      this.servedLeaves.set(piece, leaves);
      if (this.servedLeaves.size > SERVED_LEAVES_KEPT) {
        const oldest = this.servedLeaves.keys().next().value;
        if (oldest !== undefined) this.servedLeaves.delete(oldest);
      }
    }
    if (!peer.wire.destroyed) peer.wire.hashes(q, leaves);
  }

  /**
   * Checked bytes of a piece not yet verified whole, from `begin` (piece-relative), at most
   * `max`: a copy (the piece's buffer is reused once it is written). undefined when none.
   */
  readChecked(piece: number, begin: number, max: number): Buffer | undefined {
    const a = this.host.assembly(piece);
    if (!a) return undefined;
    const n = Math.min(max, a.checkedBytesFrom(begin));
    return n > 0 ? Buffer.from(a.buf.subarray(begin, begin + n)) : undefined;
  }
}

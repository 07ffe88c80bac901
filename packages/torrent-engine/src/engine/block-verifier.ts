/**
 * Checking single 16 KiB blocks of a hybrid torrent (BEP 52) before their piece is complete, so a
 * player reading into a piece gets its first bytes as soon as those blocks arrive rather than when
 * the whole piece has (a seek into a 16 MiB piece at 4 MiB/s: 4 s for the piece).
 *
 * For a piece of a file longer than a piece, the .torrent's piece layer holds the piece's subtree
 * root; one hash request (base layer 0, the piece's leaves, no proof) fetches its leaf hashes from
 * a peer, which must hash up to that root. For a file no longer than a piece, the file's pieces root
 * is the target. A torrent from a magnet has no piece layers: a file's whole layer is asked for
 * first (layerQuestion), and kept once it hashes to the file's root. Each block is then checked by
 * one SHA-256 against its leaf. A block that fails is
 * dropped and the peer that sent it is known exactly (no smart ban needed). The v1 piece hash is
 * still checked before the piece is written. See docs/design/block-verification.md.
 */
import { Bitfield } from '../bitfield.js';
import type { TorrentFile, TorrentMeta } from '../metainfo/index.js';
import {
  HASH_BYTES,
  LEAF_BYTES,
  log2,
  merkleRoot,
  nextPowerOfTwo,
  sha256,
  zeroRoot,
} from '../metainfo/merkle.js';
import type { HashAnswer, HashQuestion } from '../wire/guarded-wire.js';
import { MAX_HASHES_PER_ANSWER } from '../wire/limits.js';

/** The leaf hashes of one piece: what to ask for and what they must hash up to. */
export interface PieceTree {
  root: Uint8Array;
  /** First leaf of the piece in its file's tree, and how many leaves the request asks for. */
  index: number;
  length: number;
  /** The subtree root the leaves must hash up to. */
  target: Uint8Array;
  /** Bytes of the piece that hold file data (the rest, if any, is pad: not checked here). */
  dataBytes: number;
  /** Blocks holding those bytes; the last one's leaf is the hash of its file bytes only. */
  dataBlocks: number;
}

/** How long a peer that declined a question is not asked it again. */
export const REFUSAL_MS = 30_000;

/** How long one peer has to answer a hash request before another is asked. */
export const HASH_ANSWER_TIMEOUT_MS = 3_000;

/** The tree a piece's blocks are checked against, or undefined when they cannot be (v1, no layer). */
export function pieceTree(
  meta: TorrentMeta,
  piece: number,
  file: TorrentFile | undefined,
): PieceTree | undefined {
  const blocksPerPiece = meta.pieceLength / LEAF_BYTES;
  if (!file?.piecesRoot || blocksPerPiece < 2) return undefined;
  const inFile = piece * meta.pieceLength - file.offset;
  if (inFile < 0 || inFile >= file.length) return undefined;
  const fileBlocks = Math.ceil(file.length / LEAF_BYTES);
  if (file.length <= meta.pieceLength) {
    const width = nextPowerOfTwo(fileBlocks);
    if (width < 2) return undefined; // one block: the piece check is as quick
    return {
      root: file.piecesRoot,
      index: 0,
      length: width,
      target: file.piecesRoot,
      dataBytes: file.length,
      dataBlocks: fileBlocks,
    };
  }
  if (!file.pieceLayer) return undefined;
  const p = inFile / meta.pieceLength;
  const index = p * blocksPerPiece;
  return {
    root: file.piecesRoot,
    index,
    length: blocksPerPiece,
    target: file.pieceLayer.subarray(p * HASH_BYTES, (p + 1) * HASH_BYTES),
    dataBytes: Math.min(meta.pieceLength, file.length - inFile),
    dataBlocks: Math.min(blocksPerPiece, fileBlocks - index),
  };
}

/** Whether an answer carries `tree`'s leaves and they hash up to its target. */
export function leavesFit(tree: PieceTree, answer: HashAnswer): boolean {
  return (
    answer.hashes !== undefined &&
    answer.baseLayer === 0 &&
    answer.index === tree.index &&
    answer.length === tree.length &&
    Buffer.from(answer.root).equals(tree.root) &&
    answer.hashes.length >= tree.length * HASH_BYTES &&
    Buffer.from(merkleRoot(answer.hashes.subarray(0, tree.length * HASH_BYTES), tree.length)).equals(
      tree.target,
    )
  );
}

/** Whether block `b` (its data) matches its leaf in `leaves`. */
export function blockFits(leaves: Uint8Array, b: number, data: Uint8Array): boolean {
  return sha256(data).equals(leaves.subarray(b * HASH_BYTES, (b + 1) * HASH_BYTES));
}

/**
 * Hashes the leaves of the blocks in `data` into `out` (the piece's leaves, 32 bytes each): `data`
 * starts at byte `begin` of the piece, a multiple of 16 KiB, and stops at or before `dataBytes`.
 */
export function hashLeaves(tree: PieceTree, out: Buffer, begin: number, data: Uint8Array): void {
  const end = Math.min(begin + data.length, tree.dataBytes);
  for (let at = begin; at < end; at += LEAF_BYTES) {
    const block = data.subarray(at - begin, Math.min(at + LEAF_BYTES, end) - begin);
    sha256(block).copy(out, (at / LEAF_BYTES) * HASH_BYTES);
  }
}

/** The leaves of a piece from its verified bytes: one hash per data block, zeros to the width. */
export function leavesOfPiece(tree: PieceTree, piece: Uint8Array): Buffer {
  const out = Buffer.alloc(tree.length * HASH_BYTES);
  hashLeaves(tree, out, 0, piece);
  return out;
}

/** Per torrent: which pieces' leaves we hold, which we asked for and from whom. */
export class BlockVerifier {
  private readonly leaves = new Map<number, Uint8Array>();
  /** Questions pending, by what they ask (`leaves:<piece>`, `layer:<file index>`). */
  private readonly pending = new Map<string, { peer: string; at: number }>();
  /**
   * Who declined what, and when (`<question>:<peer>`): that peer is not asked the same again for
   * REFUSAL_MS. Without it a peer that declines everything (libtorrent in seed mode) would be asked
   * again at every plan, a request and a reject per round trip.
   */
  private readonly refusals = new Map<string, number>();
  /** Files with a v2 tree, in offset order (as in the torrent). */
  private readonly files: TorrentFile[];
  private readonly byRoot = new Map<string, TorrentFile>();

  constructor(private readonly meta: TorrentMeta) {
    this.files = meta.files.filter((f) => f.piecesRoot !== undefined);
    for (const f of this.files) this.byRoot.set(Buffer.from(f.piecesRoot as Uint8Array).toString('hex'), f);
  }

  /** The file holding the start of `piece`, among those with a tree (binary search). */
  private fileOfPiece(piece: number): TorrentFile | undefined {
    const start = piece * this.meta.pieceLength;
    let lo = 0;
    let hi = this.files.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = this.files[mid] as TorrentFile;
      if (start < f.offset) hi = mid - 1;
      else if (start >= f.offset + f.length) lo = mid + 1;
      else return f;
    }
    return undefined;
  }

  private fileOfRoot(root: Uint8Array): TorrentFile | undefined {
    return this.byRoot.get(Buffer.from(root).toString('hex'));
  }

  tree(piece: number): PieceTree | undefined {
    return pieceTree(this.meta, piece, this.fileOfPiece(piece));
  }

  /** The pieces whose blocks can be checked one by one (for the planner's `blockwise`). */
  blockwisePieces(): Bitfield {
    const bits = new Bitfield(this.meta.pieceCount);
    const pl = this.meta.pieceLength;
    for (const f of this.files) {
      const last = Math.ceil((f.offset + f.length) / pl) - 1;
      for (let p = f.offset / pl; p <= last; p++) if (pieceTree(this.meta, p, f)) bits.set(p);
    }
    return bits;
  }

  /**
   * The piece whose leaves a question (or an answer) is about, when it has the shape we ask and
   * answer: the leaves under one whole piece (base layer 0, no proof). Anything else (upper layers,
   * proofs) is declined when asked of us; libtorrent downloads from us all the same (it falls back
   * to v1 hashes).
   */
  pieceAskedFor(q: HashQuestion): number | undefined {
    if (q.baseLayer !== 0 || q.proofLayers !== 0) return undefined;
    const file = this.fileOfRoot(q.root);
    const blocksPerPiece = this.meta.pieceLength / LEAF_BYTES;
    if (!file || q.index % blocksPerPiece !== 0) return undefined;
    const piece = file.offset / this.meta.pieceLength + q.index / blocksPerPiece;
    const tree = pieceTree(this.meta, piece, file);
    return tree && tree.index === q.index && tree.length === q.length ? piece : undefined;
  }

  /** A file's whole piece layer as one question: its layer of the tree and its width. */
  private layerShape(file: TorrentFile): { baseLayer: number; width: number } {
    return {
      baseLayer: log2(this.meta.pieceLength / LEAF_BYTES),
      width: nextPowerOfTwo(Math.ceil(file.length / this.meta.pieceLength)),
    };
  }

  /**
   * Our answer to a layer question (layerQuestion's shape) for a file whose layer we hold: the
   * layer, padded to the width with empty pieces' roots. undefined: declined.
   */
  layerAnswer(q: HashQuestion): Buffer | undefined {
    const file = this.fileOfRoot(q.root);
    if (!file?.pieceLayer || q.index !== 0 || q.proofLayers !== 0) return undefined;
    const { baseLayer, width } = this.layerShape(file);
    if (q.baseLayer !== baseLayer || q.length !== width) return undefined;
    const out = Buffer.alloc(width * HASH_BYTES);
    out.set(file.pieceLayer);
    const pad = zeroRoot(baseLayer);
    for (let i = file.pieceLayer.length / HASH_BYTES; i < width; i++) out.set(pad, i * HASH_BYTES);
    return out;
  }

  leavesOf(piece: number): Uint8Array | undefined {
    return this.leaves.get(piece);
  }

  /** Whether no answer to `question` is awaited (never asked, or the peer asked is overdue). */
  private open(question: string, now: number): boolean {
    const p = this.pending.get(question);
    return !p || now - p.at > HASH_ANSWER_TIMEOUT_MS;
  }

  /** Whether to ask for this piece's leaves now (none held, and no question pending). */
  shouldAsk(piece: number, now: number): boolean {
    return !this.leaves.has(piece) && this.tree(piece) !== undefined && this.open(`leaves:${piece}`, now);
  }

  markAsked(piece: number, peer: string, now: number): void {
    this.pending.set(`leaves:${piece}`, { peer, at: now });
  }

  /**
   * A file's piece layer, when the torrent came without it (a magnet: `piece layers` sit outside
   * the info dict) and one question can fetch it: the whole layer from index 0, padded to a power
   * of two, no proof (its root is the file's pieces root). libtorrent answers up to 8192 hashes.
   */
  layerQuestion(piece: number): HashQuestion | undefined {
    const file = this.fileOfPiece(piece);
    if (!file?.piecesRoot || file.pieceLayer || file.length <= this.meta.pieceLength) return undefined;
    const { baseLayer, width } = this.layerShape(file);
    if (width > MAX_HASHES_PER_ANSWER || baseLayer < 1) return undefined;
    return { root: Buffer.from(file.piecesRoot), baseLayer, index: 0, length: width, proofLayers: 0 };
  }

  /** Whether to ask for the layer of `piece`'s file now (none held, no question pending). */
  shouldAskLayer(piece: number, now: number): boolean {
    return (
      this.layerQuestion(piece) !== undefined && this.open(`layer:${this.fileOfPiece(piece)?.index}`, now)
    );
  }

  markAskedLayer(piece: number, peer: string, now: number): void {
    const file = this.fileOfPiece(piece);
    if (file) this.pending.set(`layer:${file.index}`, { peer, at: now });
  }

  /**
   * The question `answer` answers, if `peer` was asked it: its pending entry is closed, and a
   * reject is remembered against the peer. false: not an answer to a question of ours.
   */
  private close(question: string, answer: HashAnswer, peer: string, now: number): boolean {
    if (this.pending.get(question)?.peer !== peer) return false;
    this.pending.delete(question);
    if (!answer.hashes) {
      this.refusals.set(`${question}:${peer}`, now);
      if (this.refusals.size > 4096) {
        for (const [k, at] of this.refusals) if (now - at >= REFUSAL_MS) this.refusals.delete(k);
      }
    }
    return true;
  }

  /**
   * A peer's answer to a layer question: 'layer' when it brought the layer of a file (now on the
   * file, so its pieces can be checked block by block), 'bad' when the hashes do not hash up to the
   * root, undefined when it is not such an answer (or a reject).
   */
  onLayerAnswer(answer: HashAnswer, peer: string, now: number): 'layer' | 'bad' | undefined {
    const file = this.fileOfRoot(answer.root);
    const q = file ? this.layerQuestion(file.offset / this.meta.pieceLength) : undefined;
    if (!file || !q || answer.baseLayer !== q.baseLayer || answer.index !== 0 || answer.length !== q.length)
      return undefined;
    if (!this.close(`layer:${file.index}`, answer, peer, now) || !answer.hashes) return undefined;
    const pieces = Math.ceil(file.length / this.meta.pieceLength);
    if (answer.hashes.length < pieces * HASH_BYTES) return 'bad';
    // The real pieces' hashes, padded here (not with whatever the peer sent past them).
    const layer = Buffer.from(answer.hashes.subarray(0, pieces * HASH_BYTES));
    if (!Buffer.from(merkleRoot(layer, q.length, zeroRoot(q.baseLayer))).equals(q.root)) return 'bad';
    file.pieceLayer = layer;
    return 'layer';
  }

  /**
   * A peer's answer: the piece whose leaves it brought (now held), 'bad' when it claims to but they
   * do not hash up to the piece's root (a lying peer), undefined when it is not for a question of
   * ours (or a reject: the next plan asks someone else).
   */
  onAnswer(answer: HashAnswer, peer: string, now: number): number | 'bad' | undefined {
    const piece = this.pieceAskedFor(answer);
    const tree = piece === undefined ? undefined : this.tree(piece);
    if (piece === undefined || !tree || !this.close(`leaves:${piece}`, answer, peer, now)) return undefined;
    if (!answer.hashes) return undefined;
    if (!leavesFit(tree, answer)) return 'bad';
    this.leaves.set(piece, answer.hashes.subarray(0, tree.length * HASH_BYTES));
    return piece;
  }

  /** Whether `peer` declined to give `piece`'s leaves (or its file's layer) less than REFUSAL_MS ago. */
  declined(piece: number, peer: string, now: number, what: 'leaves' | 'layer' = 'leaves'): boolean {
    const question = what === 'leaves' ? `leaves:${piece}` : `layer:${this.fileOfPiece(piece)?.index}`;
    const at = this.refusals.get(`${question}:${peer}`);
    return at !== undefined && now - at < REFUSAL_MS;
  }

  /** The piece is complete (verified or failed) or abandoned: its leaves are not needed. */
  forget(piece: number): void {
    this.leaves.delete(piece);
    this.pending.delete(`leaves:${piece}`);
  }
}

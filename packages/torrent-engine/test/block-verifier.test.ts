// The pure part of checking single blocks (BEP 52): which leaves a piece needs, whether a peer's
// answer fits, and who may answer. A file of 13 blocks in 64 KiB pieces (4 leaves each) whose
// trees are built here from its bytes, leaf by leaf, as BEP 52 defines them.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BlockVerifier,
  blockFits,
  hashLeaves,
  leavesFit,
  leavesOfPiece,
  pieceTree,
  REFUSAL_MS,
} from '../src/engine/block-verifier.js';
import type { TorrentFile, TorrentMeta } from '../src/metainfo/index.js';
import { merkleRoot, sha256, zeroRoot } from '../src/metainfo/merkle.js';
import type { HashAnswer } from '../src/wire/guarded-wire.js';

const BLOCK = 16 * 1024;
const PIECE = 4 * BLOCK;
const LENGTH = 12 * BLOCK + 3392; // 13 blocks in 4 pieces; the last piece is one short block

const data = randomBytes(LENGTH);
const leaves: Buffer[] = [];
for (let at = 0; at < LENGTH; at += BLOCK) leaves.push(sha256(data.subarray(at, at + BLOCK)));
const pieceRoots = [0, 1, 2, 3].map((p) => merkleRoot(Buffer.concat(leaves.slice(4 * p, 4 * p + 4)), 4));
const layer = Buffer.concat(pieceRoots);
const root = merkleRoot(layer, 4, zeroRoot(2));

function metaWith(files: TorrentFile[], pieceCount: number, length: number): TorrentMeta {
  return {
    infohash: 'aa'.repeat(20),
    name: 'f',
    pieceLength: PIECE,
    pieceCount,
    length,
    pieceSize: (i) => (i === pieceCount - 1 ? length - PIECE * (pieceCount - 1) : PIECE),
    pieceHash: () => new Uint8Array(20),
    files,
    private: false,
    trackers: [],
    info: new Uint8Array(),
  };
}

const file: TorrentFile = {
  index: 0,
  path: 'f',
  length: LENGTH,
  offset: 0,
  pad: false,
  piecesRoot: root,
  pieceLayer: layer,
};
const meta = metaWith([file], 4, LENGTH);

/** The leaves of piece `p` as a peer sends them (zeros past the end of the file). */
function leavesOf(p: number): Buffer {
  const out = Buffer.alloc(4 * 32);
  for (let i = 0; i < 4; i++) leaves[4 * p + i]?.copy(out, 32 * i);
  return out;
}

function answer(p: number, hashes: Buffer | undefined, over: Partial<HashAnswer> = {}): HashAnswer {
  return {
    root: Buffer.from(root),
    baseLayer: 0,
    index: 4 * p,
    length: 4,
    proofLayers: 0,
    ...(hashes ? { hashes } : {}),
    ...over,
  };
}

describe('pieceTree', () => {
  it('names the piece leaves in its file tree and the layer hash they must reach', () => {
    const t = pieceTree(meta, 1, file)!;
    expect([t.index, t.length, t.dataBlocks, t.dataBytes]).toEqual([4, 4, 4, PIECE]);
    expect(Buffer.from(t.target).equals(pieceRoots[1]!)).toBe(true);
    const last = pieceTree(meta, 3, file)!;
    expect([last.index, last.length, last.dataBlocks, last.dataBytes]).toEqual([12, 4, 1, 3392]);
  });

  it('targets the pieces root for a file within one piece, over the next power of two of its blocks', () => {
    const small = randomBytes(3 * BLOCK - 5);
    const smallLeaves = Buffer.concat(
      [0, 1, 2].map((b) => sha256(small.subarray(b * BLOCK, (b + 1) * BLOCK))),
    );
    const smallRoot = merkleRoot(smallLeaves, 4);
    const f: TorrentFile = {
      index: 0,
      path: 's',
      length: small.length,
      offset: 0,
      pad: false,
      piecesRoot: smallRoot,
    };
    const t = pieceTree(metaWith([f], 1, small.length), 0, f)!;
    expect([t.index, t.length, t.dataBlocks]).toEqual([0, 4, 3]);
    const fits = leavesFit(t, {
      ...answer(0, Buffer.concat([smallLeaves, Buffer.alloc(32)])),
      root: Buffer.from(smallRoot),
    });
    expect(fits).toBe(true);
  });

  it('has nothing for v1 files, files without a layer, and one-block pieces', () => {
    const { piecesRoot: _r, pieceLayer: _l, ...v1 } = file;
    expect(pieceTree(meta, 0, v1)).toBeUndefined();
    const { pieceLayer: _l2, ...noLayer } = file;
    expect(pieceTree(meta, 0, noLayer)).toBeUndefined();
    expect(pieceTree({ ...meta, pieceLength: BLOCK }, 0, file)).toBeUndefined();
  });
});

describe('leaves and blocks', () => {
  const tree = pieceTree(meta, 2, file)!;

  it('takes the true leaves and checks each block against its own', () => {
    expect(leavesFit(tree, answer(2, leavesOf(2)))).toBe(true);
    for (let b = 0; b < 4; b++) {
      const block = data.subarray((8 + b) * BLOCK, (9 + b) * BLOCK);
      expect(blockFits(leavesOf(2), b, block)).toBe(true);
    }
    const wrong = Buffer.from(data.subarray(8 * BLOCK, 9 * BLOCK));
    wrong[100] = (wrong[100]! + 1) % 256;
    expect(blockFits(leavesOf(2), 0, wrong)).toBe(false);
  });

  it.each([
    ['one leaf changed', answer(2, Buffer.concat([leavesOf(2).subarray(0, 96), randomBytes(32)]))],
    ['the leaves of another piece', answer(2, leavesOf(1))],
    ['the right leaves under another index', answer(2, leavesOf(2), { index: 4 })],
    ['another tree', answer(2, leavesOf(2), { root: randomBytes(32) })],
    ['too few hashes', answer(2, leavesOf(2).subarray(0, 96))],
    ['a higher base layer', answer(2, leavesOf(2), { baseLayer: 1 })],
  ])('refuses %s', (_what, a) => {
    expect(leavesFit(tree, a)).toBe(false);
  });
});

describe('BlockVerifier', () => {
  const fresh = () => new BlockVerifier(meta);

  it('keeps leaves only from the peer asked, and forgets them once the piece is done', () => {
    const v = fresh();
    expect(v.shouldAsk(2, 0)).toBe(true);
    v.markAsked(2, 'honest', 0);
    expect(v.shouldAsk(2, 100)).toBe(false); // asked, and not yet overdue
    expect(v.onAnswer(answer(2, leavesOf(2)), 'stranger', 0)).toBeUndefined();
    expect(v.leavesOf(2)).toBeUndefined();
    expect(v.onAnswer(answer(2, leavesOf(2)), 'honest', 0)).toBe(2);
    expect(Buffer.from(v.leavesOf(2)!).equals(leavesOf(2))).toBe(true);
    expect(v.shouldAsk(2, 100)).toBe(false); // held
    v.forget(2);
    expect(v.leavesOf(2)).toBeUndefined();
  });

  it("calls lying leaves 'bad', takes a reject quietly, and asks again after the timeout", () => {
    const v = fresh();
    v.markAsked(1, 'liar', 0);
    expect(v.onAnswer(answer(1, leavesOf(2), { index: 4 }), 'liar', 0)).toBe('bad');
    expect(v.leavesOf(1)).toBeUndefined();
    v.markAsked(1, 'busy', 10);
    expect(v.onAnswer(answer(1, undefined), 'busy', 10)).toBeUndefined(); // a reject
    expect(v.shouldAsk(1, 20)).toBe(true); // the question is closed: someone else can be asked
    expect(v.declined(1, 'busy', 20)).toBe(true); // but not the peer that declined it, for a while
    expect(v.declined(1, 'busy', 10 + REFUSAL_MS)).toBe(false);
    expect(v.declined(1, 'silent', 20)).toBe(false);
    v.markAsked(1, 'silent', 30);
    expect(v.shouldAsk(1, 1000)).toBe(false);
    expect(v.shouldAsk(1, 30 + 3001)).toBe(true);
  });
});

describe('BlockVerifier over a torrent of several files', () => {
  // The file above, then a pad to the piece boundary, then a small file with a tree of its own.
  const smallData = randomBytes(2 * BLOCK);
  const smallRoot = merkleRoot(
    Buffer.concat([sha256(smallData.subarray(0, BLOCK)), sha256(smallData.subarray(BLOCK))]),
    2,
  );
  const pad: TorrentFile = {
    index: 1,
    path: '.pad/61344',
    length: 4 * PIECE - LENGTH,
    offset: LENGTH,
    pad: true,
  };
  const small: TorrentFile = {
    index: 2,
    path: 's',
    length: smallData.length,
    offset: 4 * PIECE,
    pad: false,
    piecesRoot: smallRoot,
  };
  const many = metaWith([file, pad, small], 5, 4 * PIECE + smallData.length);
  const v = new BlockVerifier(many);

  it('finds each piece its file and marks every piece with a tree as blockwise', () => {
    expect(Buffer.from(v.tree(4)!.target).equals(smallRoot)).toBe(true);
    expect(Buffer.from(v.tree(1)!.target).equals(pieceRoots[1]!)).toBe(true);
    expect([...Array(5).keys()].map((p) => v.blockwisePieces().get(p))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    const v1Only = new BlockVerifier(metaWith([{ ...pad, index: 0, offset: 0, pad: false }], 1, pad.length));
    expect(v1Only.blockwisePieces().count()).toBe(0);
  });

  it('answers only the question it asks itself: one whole piece of leaves, no proof', () => {
    const q = (root: Uint8Array, index: number, length: number, over: Partial<HashAnswer> = {}) =>
      ({
        root: Buffer.from(root),
        baseLayer: 0,
        index,
        length,
        proofLayers: 0,
        ...over,
      }) satisfies HashAnswer;
    expect(v.pieceAskedFor(q(root, 8, 4))).toBe(2);
    expect(v.pieceAskedFor(q(smallRoot, 0, 2))).toBe(4);
    expect(v.pieceAskedFor(q(root, 6, 4))).toBeUndefined(); // not on a piece boundary
    expect(v.pieceAskedFor(q(root, 8, 2))).toBeUndefined(); // half a piece
    expect(v.pieceAskedFor(q(root, 16, 4))).toBeUndefined(); // past the file
    expect(v.pieceAskedFor(q(randomBytes(32), 0, 4))).toBeUndefined();
    expect(v.pieceAskedFor(q(root, 8, 4, { proofLayers: 2 }))).toBeUndefined();
    expect(v.pieceAskedFor(q(root, 2, 1, { baseLayer: 2 }))).toBeUndefined();
  });
});

describe('a torrent from a magnet: no piece layers until a peer sends one', () => {
  const { pieceLayer: _layer, ...bare } = file;
  const magnetMeta = () => metaWith([{ ...bare }], 4, LENGTH);
  const layerAnswer = (hashes: Buffer | undefined, over: Partial<HashAnswer> = {}): HashAnswer => ({
    root: Buffer.from(root),
    baseLayer: 2, // 64 KiB pieces: 4 leaves, two layers above them
    index: 0,
    length: 4,
    proofLayers: 0,
    ...(hashes ? { hashes } : {}),
    ...over,
  });

  it('asks for the whole layer, takes it when it hashes to the root, and then checks blocks', () => {
    const m = magnetMeta();
    const v = new BlockVerifier(m);
    expect(v.tree(1)).toBeUndefined();
    expect(v.blockwisePieces().count()).toBe(0);
    expect(v.layerQuestion(1)).toMatchObject({ baseLayer: 2, index: 0, length: 4, proofLayers: 0 });
    expect(v.shouldAskLayer(1, 0)).toBe(true);
    v.markAskedLayer(1, 'seed', 0);
    expect(v.shouldAskLayer(3, 100)).toBe(false); // one question per file
    expect(v.onLayerAnswer(layerAnswer(layer), 'seed', 100)).toBe('layer');
    expect(Buffer.from(m.files[0]!.pieceLayer!).equals(layer)).toBe(true);
    expect(v.blockwisePieces().count()).toBe(4);
    expect(Buffer.from(v.tree(1)!.target).equals(pieceRoots[1]!)).toBe(true);
    expect(v.layerQuestion(1)).toBeUndefined(); // held now
  });

  it("calls a layer that does not hash to the root 'bad', and keeps none", () => {
    const m = magnetMeta();
    const v = new BlockVerifier(m);
    v.markAskedLayer(0, 'liar', 0);
    const lie = Buffer.from(layer);
    lie[40] = (lie[40]! + 1) % 256;
    expect(v.onLayerAnswer(layerAnswer(lie), 'liar', 1)).toBe('bad');
    expect(m.files[0]!.pieceLayer).toBeUndefined();
  });

  it('remembers who declined the layer, and does not mistake a layer answer for leaves', () => {
    const m = magnetMeta();
    const v = new BlockVerifier(m);
    v.markAskedLayer(0, 'seed-mode', 0);
    expect(v.onLayerAnswer(layerAnswer(undefined), 'seed-mode', 5)).toBeUndefined();
    expect(v.declined(0, 'seed-mode', 6, 'layer')).toBe(true);
    // With the layer held, a leaves question for piece 0 and a layer-shaped answer: not leaves.
    const held = new BlockVerifier(meta);
    held.markAsked(0, 'peer', 0);
    expect(held.onAnswer(layerAnswer(layer), 'peer', 1)).toBeUndefined();
    expect(held.leavesOf(0)).toBeUndefined();
  });

  it('answers a layer question for a file whose layer it holds, padded like libtorrent', () => {
    const v = new BlockVerifier(meta);
    const q = layerAnswer(undefined);
    const got = v.layerAnswer(q)!;
    expect(got.equals(layer)).toBe(true); // 4 pieces: no padding needed here
    expect(v.layerAnswer({ ...q, length: 8 })).toBeUndefined();
    expect(v.layerAnswer({ ...q, proofLayers: 1 })).toBeUndefined();
    expect(new BlockVerifier(magnetMeta()).layerAnswer(q)).toBeUndefined();
  });
});

describe('property: any file shape, any piece size', () => {
  // A hybrid torrent of one file of `length` bytes in pieces of `pieceLength`: its tree built here
  // the BEP 52 way (leaves, piece subtrees, layer padded with empty pieces' roots), then every
  // piece's leaves, as a seeder computes them from the piece's bytes, must fit what the verifier
  // asks for, and each block must fit its leaf, and one changed byte must fail exactly its block.
  it('leaves computed from each piece fit; a changed byte fails its own block only', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), // log2(blocks per piece): 2..8
        fc.integer({ min: 1, max: 9 * BLOCK }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (bppLog, length, seed) => {
          const pieceLength = BLOCK * 2 ** bppLog;
          const bytes = Buffer.alloc(length);
          for (let i = 0; i < length; i++) bytes[i] = (seed + i * 2654435761) >>> 24;
          const pieces = Math.ceil(length / pieceLength);
          const leafOf = (b: number) => sha256(bytes.subarray(b * BLOCK, Math.min(length, (b + 1) * BLOCK)));
          const blocks = Math.ceil(length / BLOCK);
          let piecesRoot: Uint8Array;
          let pieceLayer: Uint8Array | undefined;
          if (length <= pieceLength) {
            let width = 1;
            while (width < blocks) width *= 2;
            piecesRoot = merkleRoot(
              Buffer.concat(Array.from({ length: blocks }, (_, b) => leafOf(b))),
              width,
            );
          } else {
            const bpp = 2 ** bppLog;
            const roots = Array.from({ length: pieces }, (_, p) => {
              const n = Math.min(bpp, blocks - p * bpp);
              return merkleRoot(Buffer.concat(Array.from({ length: n }, (_, i) => leafOf(p * bpp + i))), bpp);
            });
            pieceLayer = Buffer.concat(roots);
            let width = 1;
            while (width < pieces) width *= 2;
            piecesRoot = merkleRoot(pieceLayer, width, zeroRoot(bppLog));
          }
          const f: TorrentFile = {
            index: 0,
            path: 'p',
            length,
            offset: 0,
            pad: false,
            piecesRoot,
            ...(pieceLayer ? { pieceLayer } : {}),
          };
          const m = { ...metaWith([f], pieces, length), pieceLength };
          const v = new BlockVerifier(m);
          for (let p = 0; p < pieces; p++) {
            const tree = v.tree(p);
            if (!tree) {
              expect(blocks).toBe(1); // only a one-block file has nothing to check block by block
              continue;
            }
            const data = bytes.subarray(p * pieceLength, Math.min(length, (p + 1) * pieceLength));
            const hashes = leavesOfPiece(tree, data);
            // A seeder reads a piece in spans (block-checking.ts): the same leaves, span by span.
            const bySpan = Buffer.alloc(hashes.length);
            for (let begin = 0; begin < tree.dataBytes; begin += 2 * BLOCK)
              hashLeaves(tree, bySpan, begin, data.subarray(begin, begin + 2 * BLOCK));
            expect(bySpan.equals(hashes)).toBe(true);
            const a = answer(0, hashes, {
              root: Buffer.from(piecesRoot),
              index: tree.index,
              length: tree.length,
            });
            expect(leavesFit(tree, a)).toBe(true);
            expect(v.pieceAskedFor(a)).toBe(p);
            const changed = Buffer.from(data);
            const at = (seed % tree.dataBytes) >>> 0;
            changed[at] = (changed[at]! + 1) % 256;
            for (let b = 0; b < tree.dataBlocks; b++) {
              const block = (d: Uint8Array) =>
                d.subarray(b * BLOCK, Math.min(tree.dataBytes, (b + 1) * BLOCK));
              expect(blockFits(hashes, b, block(data))).toBe(true);
              expect(blockFits(hashes, b, block(changed))).toBe(b !== Math.floor(at / BLOCK));
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

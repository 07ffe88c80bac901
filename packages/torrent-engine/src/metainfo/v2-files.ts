/**
 * The v2 half of a hybrid torrent (BEP 52), as far as streaming needs it: each file's `pieces
 * root` and, from the .torrent's `piece layers`, its layer of piece hashes. With them a single
 * 16 KiB block can be checked the moment it arrives (docs/design/block-verification.md); the v1
 * piece hashes still decide what is written to disk.
 *
 * A hybrid torrent whose two halves disagree on a file, or whose piece layers do not hash up to
 * their roots, is refused: it was built wrong or on purpose, and either way its bytes cannot be
 * trusted by one half and checked by the other.
 */
import { BDict, type BValue } from './bdecode.js';
import { MetainfoError } from './errors.js';
import { HASH_BYTES, LEAF_BYTES, log2, merkleRoot, nextPowerOfTwo, zeroRoot } from './merkle.js';
import type { TorrentFile } from './types.js';

/**
 * Adds `piecesRoot` (and `pieceLayer` when `layers` has it) to each data file of a hybrid
 * torrent. `layers` is the .torrent's top-level `piece layers` (absent from a magnet's info dict).
 */
export function attachV2(
  info: BDict,
  files: TorrentFile[],
  pieceLength: number,
  layers: BValue | undefined,
): void {
  const tree = info.get('file tree');
  if (!(tree instanceof BDict)) return;
  const rawPaths = rawFilePaths(info);
  const padLayerRoot = zeroRoot(log2(pieceLength / LEAF_BYTES));
  for (const file of files) {
    if (file.pad || file.length === 0) continue;
    const raw = rawPaths[file.index];
    const node = raw && lookup(tree, raw);
    const entryLength = node?.get('length');
    const root = node?.get('pieces root');
    if (entryLength !== file.length || !(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
      throw new MetainfoError(
        'V2_MISMATCH',
        `file "${file.path}" is ${file.length} bytes in the v1 file list but ${typeof entryLength === 'number' ? `${entryLength} bytes` : 'missing or without a pieces root'} in the v2 file tree: the two halves of this hybrid torrent disagree`,
      );
    }
    // BEP 52 pads every file of a hybrid torrent to a piece boundary; without that a v1 piece
    // spans two v2 trees and blocks cannot be checked one by one (the v1 hash still can).
    if (file.offset % pieceLength !== 0) continue;
    file.piecesRoot = root;
    if (file.length <= pieceLength || !(layers instanceof BDict)) continue;
    const layer = layers.get(Buffer.from(root).toString('latin1'));
    if (layer === undefined) continue;
    const pieces = Math.ceil(file.length / pieceLength);
    if (
      !(layer instanceof Uint8Array) ||
      layer.length !== pieces * HASH_BYTES ||
      !Buffer.from(merkleRoot(layer, nextPowerOfTwo(pieces), padLayerRoot)).equals(root)
    ) {
      throw new MetainfoError(
        'BAD_PIECE_LAYERS',
        `the piece layer of file "${file.path}" does not hash to its pieces root: the .torrent is corrupt or was tampered with`,
      );
    }
    file.pieceLayer = layer;
  }
}

/** Each v1 file's raw path elements (latin1, as file tree keys are), by file index. */
function rawFilePaths(info: BDict): (string[] | undefined)[] {
  const latin1 = (v: BValue | undefined) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : undefined;
  const list = info.get('files');
  if (!Array.isArray(list)) {
    const name = latin1(info.get('name'));
    return [name === undefined ? undefined : [name]];
  }
  return list.map((entry) => {
    const path = entry instanceof BDict ? entry.get('path') : undefined;
    if (!Array.isArray(path)) return undefined;
    const elements = path.map(latin1);
    return elements.every((e): e is string => e !== undefined) ? elements : undefined;
  });
}

function lookup(tree: BDict, path: string[]): BDict | undefined {
  let node: BValue | undefined = tree;
  for (const element of path) {
    if (!(node instanceof BDict)) return undefined;
    node = node.get(element);
  }
  const leaf = node instanceof BDict ? node.get('') : undefined;
  return leaf instanceof BDict ? leaf : undefined;
}

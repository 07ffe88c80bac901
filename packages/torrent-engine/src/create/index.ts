/**
 * Torrent creation for uploads: streamed hashing in constant memory (one piece buffer, whatever
 * the file size), progress, cancellation.
 *
 * create-torrent@6 is not used: it would work, but it has no AbortSignal, builds its own paths with
 * no check against our sanitiser (a file whose name the sanitiser rewrites could never be found
 * again when seeding in place), and re-parsing its output would still be needed for a TorrentMeta.
 * This is ~200 lines over node:crypto and FileHandle.read into a reused buffer.
 */

import { createHash } from 'node:crypto';
import { type FileHandle, open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bitfield } from '../bitfield.js';
import { type BEncodable, bencode } from '../metainfo/bdecode.js';
import {
  MAX_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
  parseTorrent,
  sanitizeElement,
  type TorrentMeta,
} from '../metainfo/index.js';
import { LEAF_BYTES, log2, merkleRoot, nextPowerOfTwo, sha256, zeroRoot } from '../metainfo/merkle.js';
import type { ResumeData } from '../resume/types.js';

export const CREATE_ERROR_CODES = [
  'NOT_FOUND',
  'EMPTY',
  'UNPORTABLE_NAME',
  'CHANGED',
  'BAD_PIECE_LENGTH',
  'HYBRID_FOLDER',
] as const;
export type CreateErrorCode = (typeof CREATE_ERROR_CODES)[number];

export class CreateError extends Error {
  constructor(
    readonly code: CreateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CreateError';
  }
}

export interface CreateTorrentOptions {
  /** Torrent name; defaults to the file or folder name. */
  name?: string;
  /** Power of two in [16 KiB, 64 MiB]; defaults to defaultPieceLength(total). */
  pieceLength?: number;
  trackers?: string[][];
  private?: boolean;
  comment?: string;
  onProgress?: (hashedBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /**
   * Before hashing a file written less than FRESH_MS ago, wait until it is that old, so that the
   * resume data can vouch for it (at most 2 s per file). dream-cli upload sets it: a video just
   * remuxed by --faststart, or just saved, was otherwise hashed a second time by the daemon.
   */
  settle?: boolean;
  /**
   * Make a hybrid v1+v2 torrent (BEP 52), single files only: viewers that speak v2 (Dream,
   * libtorrent 2.x) can check and play single 16 KiB blocks before their piece is complete, so a
   * seek lands sooner. Transmission 3 cannot read hybrid torrents at all, hence not the default.
   */
  hybrid?: boolean;
}

/**
 * Streaming-friendly piece length: about 1,000-2,000 pieces, at least 256 KiB, at most 4 MiB.
 * A piece is the unit of verification, so a player can use no byte until the whole piece around it
 * has arrived and checked: smaller pieces mean a faster first frame and faster seeks. Below 256 KiB
 * the piece count (bitfields, have messages, hash list in the .torrent) grows for little gain; above
 * 4 MiB the wait for the first piece grows on slow peers. 200 MiB gives 256 KiB pieces (800 of
 * them), 4 GiB gives 4 MiB pieces (1,024).
 */
export function defaultPieceLength(totalBytes: number): number {
  const MIN = 256 * 1024;
  const MAX = 4 * 1024 * 1024;
  const TARGET_PIECES = 2000;
  let p = MIN;
  while (p < MAX && totalBytes / p > TARGET_PIECES) p *= 2;
  return p;
}

/** Names no one means to publish (OS metadata droppings). */
const JUNK = /^(\.DS_Store|Thumbs\.db|desktop\.ini|\._.*)$/i;

interface Source {
  abs: string;
  /** Size and mtime before and after hashing; trusted for seeding only if unchanged and not fresh. */
  before?: { size: number; mtimeMs: number };
  stable?: boolean;
  elements: string[];
  length: number;
}

export interface CreatedTorrent {
  torrent: Uint8Array;
  meta: TorrentMeta;
  /**
   * Resume data for seeding `path` in place without hashing it a second time: pass it as
   * `PieceStore.open(meta, { root, contentPath: path, resume })`. It trusts only files whose size
   * and mtime did not change while they were hashed and were last modified more than
   * FRESH_MS before hashing began (a write in the same clock tick as our stat could go unseen).
   */
  resume: ResumeData;
}

/** A file modified this recently when hashing starts is not trusted without a second check. */
const FRESH_MS = 2000;

export async function createTorrent(path: string, opts: CreateTorrentOptions = {}): Promise<CreatedTorrent> {
  const st = await stat(path).catch(() => undefined);
  if (!st || (!st.isFile() && !st.isDirectory())) {
    throw new CreateError('NOT_FOUND', `${path} is not a file or folder`);
  }
  // The name is only what downloaders call the file or folder (seeding in place opens `path` itself),
  // so it is sanitised rather than refused.
  const name = sanitizeElement(opts.name ?? basename(await realpath(path))) ?? 'torrent';
  const single = st.isFile();
  const sources: Source[] = single
    ? [{ abs: path, elements: [], length: st.size }]
    : await walk(path, [], new Set([await realpath(path)]));
  const total = sources.reduce((n, s) => n + s.length, 0);
  if (total === 0) throw new CreateError('EMPTY', `${path} has no data to share (0 bytes)`);
  const pieceLength = opts.pieceLength ?? defaultPieceLength(total);
  if (
    !Number.isInteger(pieceLength) ||
    pieceLength < MIN_PIECE_LENGTH ||
    pieceLength > MAX_PIECE_LENGTH ||
    (pieceLength & (pieceLength - 1)) !== 0
  ) {
    throw new CreateError(
      'BAD_PIECE_LENGTH',
      `piece length ${pieceLength} is not a power of two between ${MIN_PIECE_LENGTH} and ${MAX_PIECE_LENGTH}`,
    );
  }

  if (opts.hybrid && !single) {
    throw new CreateError(
      'HYBRID_FOLDER',
      `${path} is a folder: hybrid v1+v2 torrents are made for single files only; publish it without --hybrid`,
    );
  }
  const tree = opts.hybrid ? new V2Tree(pieceLength, total) : undefined;
  const pieces = await hashPieces(sources, pieceLength, total, opts, tree);
  const info: Record<string, BEncodable> = { name, 'piece length': pieceLength, pieces };
  if (single) info.length = total;
  else info.files = sources.map((s) => ({ length: s.length, path: s.elements }));
  if (opts.private) info.private = 1;
  let pieceLayers: Map<Uint8Array, BEncodable> | undefined;
  if (tree) {
    const root = tree.root();
    info['meta version'] = 2;
    info['file tree'] = { [name]: { '': { length: total, 'pieces root': root } } };
    // A file within one piece has no layer: its root is the piece's subtree root.
    if (total > pieceLength) pieceLayers = new Map([[root, tree.layer()]]);
  }
  const tiers = (opts.trackers ?? []).filter((t) => t.length > 0);
  const torrent = bencode({
    ...(tiers[0]?.[0] ? { announce: tiers[0][0] } : {}),
    ...(tiers.length > 0 && (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1)
      ? { 'announce-list': tiers }
      : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    'created by': 'Dream',
    'creation date': Math.floor(Date.now() / 1000),
    info,
    ...(pieceLayers ? { 'piece layers': pieceLayers } : {}),
  });
  const meta = parseTorrent(torrent);
  return { torrent, meta, resume: inPlaceResume(meta, path, sources) };
}

async function walk(dir: string, prefix: string[], seen: Set<string>): Promise<Source[]> {
  const out: Source[] = [];
  const names = (await readdir(dir)).filter((n) => !JUNK.test(n));
  // BEP 3 does not fix an order; byte order of the path is what libtorrent and others use.
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const n of names) {
    const abs = join(dir, n);
    const elements = [...prefix, n];
    const st = await stat(abs).catch(() => undefined); // a dangling symlink is skipped
    if (!st) continue;
    checkPortable(n, elements.join('/'));
    if (st.isDirectory()) {
      const real = await realpath(abs);
      if (seen.has(real)) continue; // a symlink loop
      seen.add(real);
      out.push(...(await walk(abs, elements, seen)));
    } else if (st.isFile()) {
      out.push({ abs, elements, length: st.size });
    }
  }
  return out;
}

/**
 * A name the sanitiser would rewrite could not be found again when seeding in place (and every
 * downloader would store it under another name): ask the user to rename it instead.
 */
function checkPortable(name: string, where: string): void {
  if (name.includes('\uFFFD') || sanitizeElement(name) !== name) {
    throw new CreateError(
      'UNPORTABLE_NAME',
      `"${where}" is not a portable file name (reserved, control characters, trailing dot or space, or too long); rename it and try again`,
    );
  }
}

/**
 * The v2 tree of a single file, built piece by piece as hashPieces reads it: each piece's 16 KiB
 * leaves hash up to its entry in the piece layer (kept, 32 bytes a piece); the layer hashes up to the
 * pieces root. Leaves past the end of the file are zero.
 */
class V2Tree {
  private readonly roots: Uint8Array[] = [];
  private readonly blocksPerPiece: number;
  constructor(
    private readonly pieceLength: number,
    private readonly length: number,
  ) {
    this.blocksPerPiece = pieceLength / LEAF_BYTES;
  }

  addPiece(data: Uint8Array): void {
    const blocks = Math.ceil(data.length / LEAF_BYTES);
    const leaves = Buffer.alloc(blocks * 32);
    for (let b = 0; b < blocks; b++)
      leaves.set(sha256(data.subarray(b * LEAF_BYTES, (b + 1) * LEAF_BYTES)), b * 32);
    // A file within one piece is a tree of its own blocks only, not of a whole piece.
    const width = this.length <= this.pieceLength ? nextPowerOfTwo(blocks) : this.blocksPerPiece;
    this.roots.push(merkleRoot(leaves, width));
  }

  layer(): Uint8Array {
    return Buffer.concat(this.roots);
  }

  root(): Uint8Array {
    if (this.length <= this.pieceLength) return this.roots[0] as Uint8Array;
    return merkleRoot(this.layer(), nextPowerOfTwo(this.roots.length), zeroRoot(log2(this.blocksPerPiece)));
  }
}

async function hashPieces(
  sources: Source[],
  pieceLength: number,
  total: number,
  opts: CreateTorrentOptions,
  tree?: V2Tree,
): Promise<Uint8Array> {
  const pieceCount = Math.ceil(total / pieceLength);
  const hashes = new Uint8Array(pieceCount * 20);
  // The one buffer: memory stays at one piece whatever the size of the upload.
  const buf = new Uint8Array(pieceLength);
  let fill = 0;
  let piece = 0;
  let hashed = 0;
  const emit = (n: number) => {
    hashes.set(createHash('sha1').update(buf.subarray(0, n)).digest(), piece * 20);
    tree?.addPiece(buf.subarray(0, n));
    piece++;
    hashed += n;
    opts.onProgress?.(hashed, total);
  };
  for (const s of sources) {
    if (s.length === 0) continue;
    let h: FileHandle | undefined;
    try {
      h = await open(s.abs, 'r');
      let st0 = await h.stat();
      const young = st0.mtimeMs + FRESH_MS + 1 - Date.now();
      if (opts.settle && young > 0) {
        await sleep(young, undefined, opts.signal ? { signal: opts.signal } : {});
        st0 = await h.stat();
      }
      const startedAt = Date.now();
      let pos = 0;
      while (pos < s.length) {
        opts.signal?.throwIfAborted();
        const want = Math.min(pieceLength - fill, s.length - pos);
        const { bytesRead } = await h.read(buf, fill, want, pos);
        if (bytesRead === 0) {
          throw new CreateError('CHANGED', `${s.abs} shrank while it was being hashed; try again`);
        }
        pos += bytesRead;
        fill += bytesRead;
        if (fill === pieceLength) {
          emit(fill);
          fill = 0;
        }
      }
      const st1 = await h.stat();
      s.before = { size: st0.size, mtimeMs: st0.mtimeMs };
      s.stable =
        st0.size === s.length &&
        st1.size === st0.size &&
        st1.mtimeMs === st0.mtimeMs &&
        st0.mtimeMs < startedAt - FRESH_MS;
    } finally {
      await h?.close();
    }
  }
  if (fill > 0) emit(fill);
  opts.signal?.throwIfAborted();
  return hashes;
}

function inPlaceResume(meta: TorrentMeta, path: string, sources: Source[]): ResumeData {
  const have = new Bitfield(meta.pieceCount);
  const trusted = meta.files.map((_, i) => {
    const s = sources[i];
    return s !== undefined && (s.length === 0 || s.stable === true);
  });
  const pl = meta.pieceLength;
  for (let p = 0; p < meta.pieceCount; p++) {
    const start = p * pl;
    const end = start + meta.pieceSize(p);
    const ok = meta.files.every(
      (f, i) => f.length === 0 || f.offset >= end || f.offset + f.length <= start || trusted[i],
    );
    if (ok) have.set(p);
  }
  return seedInPlaceResume(meta, path, {
    have: Buffer.from(have.toBytes()).toString('base64'),
    files: meta.files.map((f, i) => {
      const b = sources[i]?.before;
      return { path: f.path, size: b?.size ?? -1, mtimeMs: trusted[i] && b ? b.mtimeMs : -1 };
    }),
  });
}

/**
 * The pieces a hashing of content to seed in place verified, and each file's size and mtime when
 * it was read (`resume.have`, `resume.files` of createTorrent). Trusted exactly as resume data is
 * after a restart: a piece counts only while every file under it still has the recorded size and
 * mtime; anything else is hashed on open. dream-cli upload hashes, then passes this to the daemon's
 * add (the control API takes it only from loopback clients, who could as well write resume files).
 */
export interface HashedContent {
  /** base64 of the verified-pieces bitfield (wire bit order). */
  have: string;
  /** Per torrent file (TorrentFile.path), as recorded before it was read; mtimeMs -1: not trusted. */
  files: { path: string; size: number; mtimeMs: number }[];
}

/** Resume data for seeding `contentPath` in place on a hashing of it (this module's, or a caller's). */
export function seedInPlaceResume(meta: TorrentMeta, contentPath: string, hashed: HashedContent): ResumeData {
  return {
    infohash: meta.infohash,
    torrent: Buffer.from(meta.torrent ?? meta.info).toString('base64'),
    root: '',
    contentPath,
    have: hashed.have,
    files: hashed.files,
    selected: 'all',
    paused: false,
    addedAt: new Date().toISOString(),
  };
}

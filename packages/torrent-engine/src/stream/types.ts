/**
 * What streaming needs from a torrent, structurally, so this folder depends on the engine only
 * through this small surface (the engine's Torrent satisfies it).
 */
import type { TorrentMeta } from '../metainfo/index.js';
import type { PieceBits, ReaderState } from '../scheduler/index.js';

export interface VerifiedPieces {
  /** Pieces on disk. */
  readonly have: PieceBits;
  /** On disk, or hash-checked and still being written: readable either way. */
  isVerified(index: number): boolean;
  /** File-relative read of verified bytes only (throws if a piece in the range is not verified). */
  read(fileIndex: number, offset: number, length: number): Promise<Uint8Array>;
  /**
   * 'verified' when a piece's hash checked (readable), 'piece' when it is also on disk; 'closed'
   * when the torrent stopped or was removed (nothing more will be verified).
   */
  on(event: 'piece' | 'verified', listener: (index: number) => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  off(event: 'piece' | 'verified', listener: (index: number) => void): unknown;
  off(event: 'closed', listener: () => void): unknown;
}

export interface RegisteredReader {
  id: string;
  /** The reader's window for the scheduler; undefined when it wants nothing right now. */
  state(): ReaderState | undefined;
}

export interface StreamableTorrent {
  readonly infohash: string;
  readonly meta: TorrentMeta | undefined;
  readonly store: VerifiedPieces | undefined;
  /** Paused by the user: no peers, so a magnet's metadata cannot come. */
  readonly paused: boolean;
  /** Resolves once the metadata is known and the piece store is open. */
  whenReady(signal?: AbortSignal): Promise<void>;
  /** The engine puts each registered reader's state() into every scheduler snapshot. */
  addReader(reader: RegisteredReader): () => void;
  /** A reader moved: plan again now rather than at the next tick. */
  replan(): void;
  /**
   * Hybrid torrents: bytes of a piece not yet verified whole, from `begin` (piece-relative), that
   * are covered by blocks checked against their BEP 52 leaf hashes; at most `max`, a copy.
   */
  readCheckedBlocks(piece: number, begin: number, max: number): Uint8Array | undefined;
  /** 'blocks' (the piece): more of a piece's blocks were checked and can be read. */
  on(event: 'blocks', listener: (piece: number) => void): unknown;
  off(event: 'blocks', listener: (piece: number) => void): unknown;
  /** A stream opened this file: add it to the selected files if it is not (unselected pieces are never fetched). */
  selectForStreaming(fileIndex: number): void;
}

export interface TorrentFile {
  index: number;
  /**
   * Sanitised, relative, '/'-separated path under the download root, the torrent's name included:
   * single-file torrents: '<name>'; multi-file: '<name>/<dir>/<file>'. Safe to join under the root.
   */
  path: string;
  length: number;
  /** Byte offset in the torrent's linear byte space. */
  offset: number;
  /** BEP 47 pad file: never written to disk, reads as zeros. */
  pad: boolean;
  /** Hybrid torrents (BEP 52), files that start on a piece boundary: the root of its v2 tree. */
  piecesRoot?: Uint8Array;
  /** Files longer than a piece, when the .torrent carried `piece layers`: 32 bytes per piece. */
  pieceLayer?: Uint8Array;
}

export interface TorrentMeta {
  /** v1: SHA-1 of the exact bencoded info dict bytes, 40 lowercase hex. */
  infohash: string;
  /** Hybrid torrents: SHA-256 of the info dict, 64 lowercase hex. */
  infohashV2?: string;
  /** Sanitised (one path element). */
  name: string;
  pieceLength: number;
  pieceCount: number;
  /** Total length, pad files included. */
  length: number;
  pieceSize(index: number): number;
  /** 20 bytes (a view into `info`). */
  pieceHash(index: number): Uint8Array;
  files: TorrentFile[];
  private: boolean;
  /** announce-list tiers (announce alone = one tier). */
  trackers: string[][];
  /** Raw bencoded info dict (served over ut_metadata). */
  info: Uint8Array;
  /** The whole .torrent when known. */
  torrent?: Uint8Array;
}

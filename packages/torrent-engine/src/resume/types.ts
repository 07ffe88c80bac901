/** What survives a restart for one torrent. JSON-serialisable; written atomically by ResumeStore. */
export interface ResumeData {
  infohash: string;
  /** base64 of the whole .torrent when known, else of the bencoded info dict. */
  torrent: string;
  /** general.output_dir at the time the torrent was added. */
  root: string;
  /** Seed in place: the original file or folder. */
  contentPath?: string;
  /** base64 of the verified-pieces bitfield (wire bit order) as of the last flush. */
  have: string;
  /**
   * Size and mtime of every non-pad file, taken AFTER the data of every piece in `have` was fsynced.
   * Pieces are trusted on open only where all their files still match (see docs/design/storage.md).
   * `path` is TorrentFile.path; a file that did not exist is recorded with size -1.
   */
  files: { path: string; size: number; mtimeMs: number }[];
  selected: number[] | 'all';
  paused: boolean;
  /** ISO 8601. */
  addedAt: string;
  /** This torrent's own rate limits, bytes/s (0 = none), when any is set (PUT .../limits). */
  limits?: { upload: number; download: number };
}

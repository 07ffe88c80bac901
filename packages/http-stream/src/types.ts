/**
 * The contract between the HTTP server and whatever stores the bytes. The server knows nothing of
 * BitTorrent: the engine implements these two interfaces and hands a StreamSource to
 * `streamRoutes()` / `createStreamServer()`. Keep this file stable; the engine builds against it.
 */
import type { Readable } from 'node:stream';

export interface SeekableFile {
  /** Path inside the torrent, '/'-separated, e.g. 'Season 1/ep01.mkv'. */
  path: string;
  /** Size in bytes; may be 0. */
  size: number;
  /**
   * Stable identity for the ETag (e.g. infohash + file index + piece length); must change if the
   * content could change. Any string: the server hashes it into a valid strong entity-tag.
   */
  etag: string;
  /**
   * Bytes [start, end] inclusive (0 <= start <= end < size), delivered as soon as they are
   * available (verified), respecting backpressure. Aborting `signal` must end the stream at once and
   * release everything. The stream errors if the data cannot be obtained. The server never calls
   * this for a zero-length file or an empty range.
   */
  createReadStream(start: number, end: number, signal: AbortSignal): NodeJS.ReadableStream | Readable;
}

export interface StreamSource {
  /**
   * The torrent's files in order (index = position), or undefined when the infohash is unknown.
   * Throws SourceNotReady (errors.ts) for a torrent it knows but cannot list, with why.
   */
  files(infohash: string): Promise<SeekableFile[] | undefined> | SeekableFile[] | undefined;
  /** Optional: a display name for listings and playlists. */
  name?(infohash: string): string | undefined;
}

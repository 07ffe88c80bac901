// A reader's readahead window (issue 4, STYLE.md #3): anchored to the read position, sized in
// seconds of media, small after a seek and growing while reads stay contiguous. It never moves on
// its own: a reader that stops reading (a paused player) keeps the same window, so once the window
// is downloaded the engine stops fetching for it. Pure: time is passed in.
import type { ReaderState } from './types.js';

export interface ReadaheadOptions {
  /** Where the file starts in the torrent's byte space (TorrentFile.offset). */
  fileOffset: number;
  fileLength: number;
  pieceLength: number;
  /** Media rate (estimateBytesPerSecond()). */
  bytesPerSecond: number;
  /** stream.readahead_seconds. Default 30. */
  readaheadSeconds?: number;
  /** Smallest full window in bytes (raised to one piece). Default 4 MiB. */
  floorBytes?: number;
  /** Largest window in bytes. Default 128 MiB. */
  capBytes?: number;
  /** Window right after opening or seeking, in seconds of media (raised to one piece). Default 2. */
  startSeconds?: number;
  /** Initial read position in the file. Default 0. */
  position?: number;
  /** Exclusive end of the bytes this reader will ever read (an HTTP range's last byte + 1). */
  end?: number;
}

export const READAHEAD_DEFAULTS = Object.freeze({
  readaheadSeconds: 30,
  floorBytes: 4 * 1024 * 1024,
  capBytes: 128 * 1024 * 1024,
  startSeconds: 2,
});

export class ReadaheadWindow {
  private readonly fileOffset: number;
  private readonly fileLength: number;
  private readonly pieceLength: number;
  private readonly readaheadSeconds: number;
  private readonly floorBytes: number;
  private readonly capBytes: number;
  private readonly startSeconds: number;
  private readonly limit: number;
  private bps: number;
  private pos: number;
  /** Bytes read contiguously since the last seek: the window grows to twice this. */
  private contiguous = 0;
  private lastReadAt: number | undefined;

  constructor(o: ReadaheadOptions) {
    if (!(o.bytesPerSecond > 0))
      throw new RangeError(`readahead: bytesPerSecond ${o.bytesPerSecond} must be > 0`);
    if (!(o.pieceLength > 0)) throw new RangeError(`readahead: pieceLength ${o.pieceLength} must be > 0`);
    if (!(o.fileLength >= 0)) throw new RangeError(`readahead: fileLength ${o.fileLength} must be >= 0`);
    this.fileOffset = o.fileOffset;
    this.fileLength = o.fileLength;
    this.pieceLength = o.pieceLength;
    this.readaheadSeconds = o.readaheadSeconds ?? READAHEAD_DEFAULTS.readaheadSeconds;
    this.floorBytes = Math.max(o.floorBytes ?? READAHEAD_DEFAULTS.floorBytes, o.pieceLength);
    this.capBytes = Math.max(o.capBytes ?? READAHEAD_DEFAULTS.capBytes, this.floorBytes);
    this.startSeconds = o.startSeconds ?? READAHEAD_DEFAULTS.startSeconds;
    this.limit = Math.min(o.fileLength, o.end ?? o.fileLength);
    this.bps = o.bytesPerSecond;
    this.pos = clamp(o.position ?? 0, 0, this.limit);
  }

  /** The read position in the file (the next byte the reader is expected to read). */
  get position(): number {
    return this.pos;
  }

  /** The full window: readahead seconds of media, between the floor and the cap. */
  get fullSize(): number {
    return clamp(this.readaheadSeconds * this.bps, this.floorBytes, this.capBytes);
  }

  /** The window right after a seek: a couple of seconds of media, at least one piece. */
  get startSize(): number {
    return Math.min(this.fullSize, Math.max(this.pieceLength, this.startSeconds * this.bps));
  }

  /** The current window size in bytes: twice what was read contiguously since the seek, bounded. */
  get size(): number {
    return Math.ceil(clamp(2 * this.contiguous, this.startSize, this.fullSize));
  }

  get bytesPerSecond(): number {
    return this.bps;
  }

  /** The engine learnt the duration (or measured the consumption): resize from now on. */
  setBytesPerSecond(bps: number): void {
    if (!(bps > 0)) throw new RangeError(`readahead: bytesPerSecond ${bps} must be > 0`);
    this.bps = bps;
  }

  /**
   * The reader consumed [position, position + length). Within the window (or a small step back,
   * less than a piece: players re-read headers) this is contiguous and grows the window; anywhere
   * else it is a seek.
   */
  read(position: number, length: number, now: number): void {
    const end = position + Math.max(0, length);
    const contiguous = position >= this.pos - this.pieceLength && position <= this.pos + this.size;
    if (contiguous) this.contiguous += Math.max(0, end - this.pos);
    else this.contiguous = Math.max(0, length);
    this.pos = clamp(end, 0, this.limit);
    this.lastReadAt = now;
  }

  /** The reader jumped: the window shrinks to its start size at the new position. */
  seek(position: number): void {
    this.pos = clamp(position, 0, this.limit);
    this.contiguous = 0;
  }

  /** Milliseconds since the last read (Infinity before the first one): for the engine's idle policy. */
  idleMs(now: number): number {
    return this.lastReadAt === undefined ? Number.POSITIVE_INFINITY : now - this.lastReadAt;
  }

  /** The window in file coordinates, [start, end). Empty at the end of the file or range. */
  range(): { start: number; end: number } {
    return { start: this.pos, end: Math.min(this.limit, this.pos + this.size) };
  }

  /** The window as the planner's reader, in torrent coordinates; the playhead is the read position. */
  reader(id: string): ReaderState {
    const { start, end } = this.range();
    return {
      id,
      start: this.fileOffset + start,
      end: this.fileOffset + end,
      playhead: this.fileOffset + start,
      bytesPerSecond: this.bps,
    };
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Where each piece's bytes live: a pure mapping from the torrent's linear byte space to
 * (file, offset) segments. Pieces span files; pad files are segments that read as zeros.
 */
import type { TorrentFile, TorrentMeta } from '../metainfo/index.js';

export interface Segment {
  file: TorrentFile;
  /** Offset inside the file. */
  fileOffset: number;
  /** Offset inside the requested range. */
  rangeOffset: number;
  length: number;
}

export class Layout {
  private readonly starts: number[];
  constructor(readonly meta: TorrentMeta) {
    this.starts = meta.files.map((f) => f.offset);
  }

  /** Segments covering [offset, offset + length) of the torrent; zero-length files are skipped. */
  segments(offset: number, length: number): Segment[] {
    const out: Segment[] = [];
    const end = offset + length;
    let i = this.fileAt(offset);
    let pos = offset;
    while (pos < end && i < this.meta.files.length) {
      const f = this.meta.files[i] as TorrentFile;
      const fEnd = f.offset + f.length;
      if (fEnd > pos) {
        const n = Math.min(fEnd, end) - pos;
        out.push({ file: f, fileOffset: pos - f.offset, rangeOffset: pos - offset, length: n });
        pos += n;
      }
      i++;
    }
    return out;
  }

  pieceSegments(index: number): Segment[] {
    return this.segments(index * this.meta.pieceLength, this.meta.pieceSize(index));
  }

  /** Pieces [first, last] overlapping a file's bytes; undefined for a zero-length file. */
  filePieces(file: TorrentFile): { first: number; last: number } | undefined {
    if (file.length === 0) return undefined;
    return {
      first: Math.floor(file.offset / this.meta.pieceLength),
      last: Math.floor((file.offset + file.length - 1) / this.meta.pieceLength),
    };
  }

  /** Index of the last file starting at or before `offset` (binary search). */
  private fileAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    // Several zero-length files may share an offset: step back to the first of them.
    while (lo > 0 && this.starts[lo - 1] === this.starts[lo]) lo--;
    return lo;
  }
}

// What to fetch first when a file is opened: players read its head (headers, the first frames) and
// often its tail before playing: an MP4 whose moov atom was written last, Matroska cues, an AVI
// index. About 1% of the file at each end, at least 256 KiB and at most 8 MiB (numbers explained in
// docs/design/scheduler.md).
import type { ReaderState } from './types.js';

export interface FileSpan {
  /** Offset of the file in the torrent's byte space. */
  offset: number;
  length: number;
}

export const PRIME_FRACTION = 0.01;
export const PRIME_FLOOR_BYTES = 256 * 1024;
export const PRIME_CAP_BYTES = 8 * 1024 * 1024;

/** Bytes to prime at each end of a file of this length. */
export function primeSize(length: number): number {
  const size = Math.min(PRIME_CAP_BYTES, Math.max(PRIME_FLOOR_BYTES, Math.ceil(length * PRIME_FRACTION)));
  return Math.min(size, Math.max(0, length));
}

/** The head and tail ranges, in torrent coordinates, [start, end); one range when they meet. */
export function primeRanges(file: FileSpan): { start: number; end: number }[] {
  const size = primeSize(file.length);
  if (size <= 0) return [];
  const fileEnd = file.offset + file.length;
  const head = { start: file.offset, end: file.offset + size };
  const tail = { start: fileEnd - size, end: fileEnd };
  if (tail.start <= head.end) return [{ start: file.offset, end: fileEnd }];
  return [head, tail];
}

/** The pieces covering the head and the tail, ascending, without repeats. */
export function primePieces(file: FileSpan, pieceLength: number): number[] {
  const pieces = new Set<number>();
  for (const r of primeRanges(file)) {
    const first = Math.floor(r.start / pieceLength);
    const last = Math.floor((r.end - 1) / pieceLength);
    for (let i = first; i <= last; i++) pieces.add(i);
  }
  return [...pieces].sort((a, b) => a - b);
}

/**
 * The head and tail as planner readers, so they get deadlines like any window. The head is needed
 * now: the player's very first read is there. The tail's deadlines start `headFirstBytes` later (one
 * piece, when the caller passes it): interleaving both ends from the first block would delay that
 * first read by a whole tail piece (at 4 MiB/s and 1 MiB pieces, 500 ms instead of 250). After the
 * head's first piece, both ends interleave at the media rate. The engine drops them once their
 * pieces are verified or the file closes.
 */
export function primeReaders(
  file: FileSpan,
  bytesPerSecond: number,
  idPrefix = 'prime',
  headFirstBytes = 0,
): ReaderState[] {
  return primeRanges(file).map((r, i) => ({
    id: `${idPrefix}:${i === 0 ? 'head' : 'tail'}`,
    start: r.start,
    end: r.end,
    playhead: i === 0 ? r.start : r.start - Math.max(0, headFirstBytes),
    bytesPerSecond,
  }));
}

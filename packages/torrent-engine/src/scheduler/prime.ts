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
 * The head and tail as planner readers, so they get deadlines like any window. Given the piece
 * length, the order is what a player needs: the head's first piece now (its very first read), then
 * the whole of the file's last piece (an MP4's moov written last, Matroska cues and an AVI index
 * all end there), before the head's second piece even when a player's own reader wants it, then
 * the rest of both ends by deadline at the media rate. The planner gives all blocks of a piece the
 * deadline of its first needed byte, so placing the last piece's start is enough. Without this
 * order both ends start now, which delays the first read by a tail piece (at 4 MiB/s and 1 MiB
 * pieces, 500 ms instead of 250) and the moov by more. The engine drops them once their
 * pieces are verified or the file closes.
 */
export function primeReaders(
  file: FileSpan,
  bytesPerSecond: number,
  idPrefix = 'prime',
  pieceLength = 0,
): ReaderState[] {
  const ranges = primeRanges(file);
  const reader = (name: string, start: number, end: number, delayBytes: number): ReaderState => ({
    id: `${idPrefix}:${name}`,
    start,
    end,
    playhead: start - delayBytes,
    bytesPerSecond,
  });
  const [head, tail] = ranges;
  if (!head) return [];
  if (!tail) return [reader('head', head.start, head.end, 0)];
  if (!(pieceLength > 0))
    return [reader('head', head.start, head.end, 0), reader('tail', tail.start, tail.end, 0)];
  const firstEnd = Math.min(head.end, (Math.floor(head.start / pieceLength) + 1) * pieceLength);
  const lastStart = Math.max(tail.start, Math.floor((tail.end - 1) / pieceLength) * pieceLength);
  // The last piece is due half a block (8 KiB of media) before the head's second piece.
  const lastPiece = reader('tail', lastStart, tail.end, Math.max(0, firstEnd - head.start - 8192));
  const out = [reader('head', head.start, firstEnd, 0), lastPiece];
  // Then the rest of both ends, from where the head's second piece starts.
  const restDelay = firstEnd - head.start;
  if (firstEnd < head.end) out.push(reader('head-rest', firstEnd, head.end, restDelay));
  if (lastStart > tail.start) out.push(reader('tail-rest', tail.start, lastStart, restDelay));
  return out;
}

/**
 * A Readable over one file of a torrent, [start, end] inclusive, that yields only verified bytes.
 *
 * The reader owns its position, its readahead window and its cancellation (STYLE.md #3): it
 * registers its window with the torrent so the scheduler gives those pieces deadlines; it advances
 * only as the consumer reads (Node's backpressure calls _read only when the consumer wants more), so
 * a paused player leaves the window where it is and the engine stops fetching ahead once the window
 * is full; aborting the signal (a closed HTTP connection) unregisters the window at once.
 */
import { Readable } from 'node:stream';
import type { TorrentFile } from '../metainfo/index.js';
import { ReadaheadWindow } from '../scheduler/index.js';
import type { StreamableTorrent } from './types.js';

/** Bytes handed to the consumer per read: big enough to keep syscalls few, small enough to stream. */
const CHUNK = 256 * 1024;
/**
 * The first read of a stream, doubled at each read up to CHUNK. A player opening a file reads a few
 * KiB at the head, jumps to the tail for the index, then back: measured with mpv, it read 7.8 KiB
 * of its first connection before hanging up, while the server kept reading and pushing 256 KiB
 * chunks (3-5 ms of the event loop each on this machine) until it saw the close, and the player's
 * next request waited behind them. Small first reads put the first bytes out sooner and waste
 * little on a connection the player drops.
 */
const FIRST_CHUNK = 16 * 1024;

let nextReaderId = 0;

export interface FileStreamOptions {
  bytesPerSecond: number;
  /** The media rate as it is known now (a probe may learn the duration mid-stream). */
  currentBytesPerSecond?: () => number;
  /** Names the reader in the engine's logs and snapshots: 'reader' (a client's) by default. */
  idPrefix?: string;
  readaheadSeconds: number;
  now?: () => number;
}

export function createFileStream(
  torrent: StreamableTorrent,
  file: TorrentFile,
  start: number,
  end: number,
  signal: AbortSignal,
  opts: FileStreamOptions,
): Readable {
  const meta = torrent.meta!;
  const store = torrent.store!;
  const now = opts.now ?? Date.now;
  const id = `${opts.idPrefix ?? 'reader'}:${++nextReaderId}`;
  const window = new ReadaheadWindow({
    fileOffset: file.offset,
    fileLength: file.length,
    pieceLength: meta.pieceLength,
    bytesPerSecond: opts.bytesPerSecond,
    readaheadSeconds: opts.readaheadSeconds,
    position: start,
    end: end + 1,
  });
  let position = start;
  let chunk = FIRST_CHUNK;
  let waitingFor: number | undefined;
  let reading = false;

  const unregister = torrent.addReader({ id, state: () => (position > end ? undefined : window.reader(id)) });
  torrent.replan();

  const onPiece = (index: number) => {
    if (waitingFor === index) {
      waitingFor = undefined;
      void pump();
    }
  };
  // 'verified' comes first (the piece is readable from memory while it is written); 'piece' for
  // a piece a recheck or another path made had.
  store.on('verified', onPiece);
  store.on('piece', onPiece);
  // Hybrid torrents: more of a piece's blocks were checked one by one (BEP 52 leaf hashes).
  torrent.on('blocks', onPiece);
  // The torrent was stopped or removed: end the stream with an error (the player's connection is
  // cut) rather than leave it waiting for a piece that will never come.
  // 410 Gone for the HTTP server, when no byte was sent yet.
  const onClosed = () =>
    stream.destroy(Object.assign(new Error('the torrent was stopped or removed'), { statusCode: 410 }));
  store.on('closed', onClosed);

  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      void pump();
    },
    destroy(err, cb) {
      cleanup();
      cb(err);
    },
  });

  const cleanup = () => {
    store.off('verified', onPiece);
    store.off('piece', onPiece);
    torrent.off('blocks', onPiece);
    store.off('closed', onClosed);
    signal.removeEventListener('abort', onAbort);
    unregister();
  };
  const onAbort = () => stream.destroy();
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener('abort', onAbort, { once: true });

  async function pump(): Promise<void> {
    if (reading || stream.destroyed) return;
    reading = true;
    try {
      while (position <= end && !stream.destroyed) {
        const abs = file.offset + position;
        const piece = Math.floor(abs / meta.pieceLength);
        // Read up to the end of this piece, the range, or one chunk: from the verified piece, or
        // from its blocks checked one by one (hybrid torrents) while the rest is on its way.
        const pieceEnd = (piece + 1) * meta.pieceLength - file.offset; // file-relative, exclusive
        let length = Math.min(chunk, end + 1 - position, pieceEnd - position);
        let bytes: Uint8Array;
        if (store.isVerified(piece)) {
          bytes = await store.read(file.index, position, length);
        } else {
          const checked = torrent.readCheckedBlocks(piece, abs - piece * meta.pieceLength, length);
          if (!checked) {
            waitingFor = piece;
            torrent.replan();
            return; // onPiece resumes us
          }
          bytes = checked;
          length = checked.length;
        }
        chunk = Math.min(CHUNK, chunk * 2);
        if (stream.destroyed) return;
        const rate = opts.currentBytesPerSecond?.();
        if (rate !== undefined && rate > 0 && rate !== window.bytesPerSecond) window.setBytesPerSecond(rate);
        window.read(position, length, now());
        position += length;
        torrent.replan(); // the window moved with the read position
        if (position > end) {
          stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          stream.push(null);
          cleanup();
          return;
        }
        if (!stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) return; // backpressure
      }
    } catch (err) {
      stream.destroy(err as Error);
    } finally {
      reading = false;
    }
  }

  return stream;
}

/**
 * The engine as a StreamSource for packages/http-stream: each non-pad file of a torrent becomes a
 * SeekableFile whose reads come from verified pieces only.
 *
 * On the first open of a file we also prime its head and tail (about 1% each, see
 * scheduler/prime.ts): players read the container's index there before the first frame (an MP4
 * whose moov sits at the end, MKV cues, AVI indexes). The prime readers stay registered until their
 * pieces are verified.
 */
import type { TorrentFile } from '../metainfo/index.js';
import { estimateBytesPerSecond, primeReaders } from '../scheduler/index.js';
import { createFileStream } from './file-stream.js';
import type { StreamableTorrent } from './types.js';

/** How long a listing waits for a magnet's metadata before answering "unknown". */
const METADATA_WAIT_MS = 60_000;

export interface StreamSourceOptions {
  readaheadSeconds: number;
  /** Media duration when known (from the catalog), for a better bit rate than a guess. */
  durationSeconds?: (infohash: string, fileIndex: number) => number | undefined;
}

export interface StreamFile {
  path: string;
  size: number;
  etag: string;
  createReadStream(start: number, end: number, signal: AbortSignal): NodeJS.ReadableStream;
}

export class TorrentStreamSource {
  private readonly primed = new Set<string>();

  constructor(
    private readonly lookup: (infohash: string) => StreamableTorrent | undefined,
    private readonly opts: StreamSourceOptions,
  ) {}

  name(infohash: string): string | undefined {
    return this.lookup(infohash.toLowerCase())?.meta?.name;
  }

  async files(infohash: string): Promise<StreamFile[] | undefined> {
    const torrent = this.lookup(infohash.toLowerCase());
    if (!torrent) return undefined;
    if (!torrent.meta || !torrent.store) {
      try {
        await torrent.whenReady(AbortSignal.timeout(METADATA_WAIT_MS));
      } catch {
        return undefined;
      }
    }
    const meta = torrent.meta!;
    return meta.files.filter((f) => !f.pad).map((f) => this.file(torrent, f));
  }

  private file(torrent: StreamableTorrent, file: TorrentFile): StreamFile {
    const meta = torrent.meta!;
    const bytesPerSecond = estimateBytesPerSecond({
      length: file.length,
      durationSeconds: this.opts.durationSeconds?.(torrent.infohash, file.index),
    });
    return {
      path: file.path,
      size: file.length,
      // The content of (infohash, file, piece length) never changes: verified bytes are the bytes.
      etag: `${torrent.infohash}:${file.index}:${meta.pieceLength}`,
      createReadStream: (start, end, signal) => {
        this.prime(torrent, file, bytesPerSecond);
        return createFileStream(torrent, file, start, end, signal, {
          bytesPerSecond,
          readaheadSeconds: this.opts.readaheadSeconds,
        });
      },
    };
  }

  private prime(torrent: StreamableTorrent, file: TorrentFile, bytesPerSecond: number): void {
    const key = `${torrent.infohash}:${file.index}`;
    if (this.primed.has(key)) return;
    this.primed.add(key);
    const store = torrent.store!;
    const pieceLength = torrent.meta!.pieceLength;
    for (const reader of primeReaders(file, bytesPerSecond, `prime:${key}`)) {
      const first = Math.floor(reader.start / pieceLength);
      const last = Math.floor((reader.end - 1) / pieceLength);
      const done = () => {
        for (let i = first; i <= last; i++) if (!store.have.get(i)) return false;
        return true;
      };
      if (done()) continue;
      let unregister: () => void = () => {};
      const onPiece = () => {
        if (done()) {
          store.off('piece', onPiece);
          unregister();
        }
      };
      store.on('piece', onPiece);
      unregister = torrent.addReader({ id: reader.id, state: () => (done() ? undefined : reader) });
    }
    torrent.replan();
  }
}

/**
 * The engine as a StreamSource for packages/http-stream: each non-pad file of a torrent becomes a
 * SeekableFile whose reads come from verified pieces only.
 *
 * On the first open of a file we also prime its head and tail (about 1% each, see
 * scheduler/prime.ts): players read the container's index there before the first frame (an MP4
 * whose moov sits at the end, MKV cues, AVI indexes). The prime readers stay registered until their
 * pieces are verified. And we read the media's duration from the same header bytes
 * (media-duration.ts), so windows are sized at the stream's real bit rate rather than a guess.
 */
import { SourceNotReady } from '@dream/http-stream';
import type { TorrentFile } from '../metainfo/index.js';
import { estimateBytesPerSecond, primeRanges, primeReaders } from '../scheduler/index.js';
import { createFileStream } from './file-stream.js';
import { probeDuration } from './media-duration.js';
import type { StreamableTorrent } from './types.js';

/** How long a listing waits for a magnet's metadata before answering "unknown". */
const METADATA_WAIT_MS = 60_000;
/** How long the duration probe may wait for header pieces before the guess stays. */
const PROBE_TIMEOUT_MS = 120_000;

export interface StreamSourceOptions {
  readaheadSeconds: number;
  /** How long a listing waits for a magnet's metadata (default 60 s). */
  metadataWaitMs?: number;
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
  /** Durations read from the files' headers, by `infohash:file`. */
  private readonly probed = new Map<string, number>();

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
      // A magnet paused before its metadata came cannot get it: said now, not after the wait.
      if (torrent.paused && !torrent.meta) throw pausedWithoutMetadata(torrent.infohash);
      const waitMs = this.opts.metadataWaitMs ?? METADATA_WAIT_MS;
      const wait = AbortSignal.timeout(waitMs);
      try {
        await torrent.whenReady(wait);
      } catch (err) {
        // Removed meanwhile: unknown now, as for any infohash not loaded.
        if (!this.lookup(torrent.infohash)) return undefined;
        if (torrent.paused && !torrent.meta) throw pausedWithoutMetadata(torrent.infohash);
        if (wait.aborted) {
          throw new SourceNotReady(
            `no peer has sent torrent ${torrent.infohash}'s metadata (its list of files) within ${waitMs / 1000} s: it needs a peer that has the torrent (the magnet's peers or trackers, the DHT, or dream-cli stream --peer host:port); it is still being looked for`,
          );
        }
        throw new SourceNotReady(`torrent ${torrent.infohash} cannot be read: ${(err as Error).message}`);
      }
    }
    const meta = torrent.meta!;
    return meta.files.filter((f) => !f.pad).map((f) => this.file(torrent, f));
  }

  /** The file's media rate: from the duration the caller knows, else the header's, else a guess. */
  private bytesPerSecond(torrent: StreamableTorrent, file: TorrentFile): number {
    return estimateBytesPerSecond({
      length: file.length,
      durationSeconds:
        this.opts.durationSeconds?.(torrent.infohash, file.index) ??
        this.probed.get(`${torrent.infohash}:${file.index}`),
    });
  }

  private file(torrent: StreamableTorrent, file: TorrentFile): StreamFile {
    const meta = torrent.meta!;
    const bytesPerSecond = this.bytesPerSecond(torrent, file);
    return {
      path: file.path,
      size: file.length,
      // The content of (infohash, file, piece length) never changes: verified bytes are the bytes.
      etag: `${torrent.infohash}:${file.index}:${meta.pieceLength}`,
      createReadStream: (start, end, signal) => {
        torrent.selectForStreaming(file.index);
        this.prime(torrent, file, bytesPerSecond);
        return createFileStream(torrent, file, start, end, signal, {
          bytesPerSecond,
          readaheadSeconds: this.opts.readaheadSeconds,
          // The probe may learn the duration while this stream plays.
          currentBytesPerSecond: () => this.bytesPerSecond(torrent, file),
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
    for (const reader of primeReaders(file, bytesPerSecond, `prime:${key}`, pieceLength)) {
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
    // After the primes: the header reads it makes fall inside them in the usual case.
    this.probe(torrent, file, bytesPerSecond);
    torrent.replan();
  }

  /**
   * Reads the file's duration from its header in the background, through ordinary readers, and
   * only inside the primed head and tail: those pieces are fetched anyway, and a hostile file whose
   * boxes point all over it cannot make the probe fetch more (a `moov` larger than the tail prime,
   * rare, leaves the guess). Nothing is logged or retried on failure: the guess stays.
   */
  private probe(torrent: StreamableTorrent, file: TorrentFile, bytesPerSecond: number): void {
    const key = `${torrent.infohash}:${file.index}`;
    const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const primed = primeRanges(file).map((r) => ({ start: r.start - file.offset, end: r.end - file.offset }));
    const read = async (offset: number, length: number) => {
      if (!primed.some((r) => offset >= r.start && offset + length <= r.end))
        throw new Error(`probe read ${offset}+${length} is outside the primed ends`);
      return readAll(
        createFileStream(torrent, file, offset, offset + length - 1, signal, {
          bytesPerSecond,
          readaheadSeconds: this.opts.readaheadSeconds,
          idPrefix: 'probe',
        }),
      );
    };
    probeDuration(read, file.length).then(
      (seconds) => {
        if (seconds !== undefined) this.probed.set(key, seconds);
      },
      () => {},
    );
  }
}

function pausedWithoutMetadata(infohash: string): SourceNotReady {
  return new SourceNotReady(
    `torrent ${infohash} is paused and its metadata (its list of files) has not arrived: resume it to fetch it (POST /api/torrents/${infohash}/resume, or dream-cli stream, which resumes it)`,
  );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

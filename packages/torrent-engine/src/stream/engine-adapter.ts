/**
 * Adapts the engine's Torrent to what streaming needs (StreamableTorrent). The Torrent keeps
 * reader windows as plain values (setReader); readers here own live windows that move as they read,
 * so replan() pushes every registered reader's current window and lets the torrent plan again.
 */
import type { Torrent } from '../engine/torrent.js';
import type { RegisteredReader, StreamableTorrent } from './types.js';

/** How often whenReady looks again while a magnet's metadata or the storage check is pending. */
const READY_POLL_MS = 50;

/**
 * After its last reader closes, a torrent stays in streaming mode this long. A player seeks by
 * closing one connection and opening another; in that gap a torrent with no reader would switch to
 * background rarest-first and queue about a second of unrelated requests at the seeder, which the
 * new window then waits behind (measured: seeks of 1 s instead of one piece, 250 ms, at 4 MiB/s).
 */
export const SEEK_GRACE_MS = 5_000;
const LINGER_ID = 'stream:linger';

const adapters = new WeakMap<Torrent, StreamableTorrent>();

export function streamableTorrent(torrent: Torrent): StreamableTorrent {
  const known = adapters.get(torrent);
  if (known) return known;
  const readers = new Map<string, RegisteredReader>();
  let linger: NodeJS.Timeout | undefined;
  /** An empty window: it asks for nothing, but the torrent still counts a reader. */
  const holdStreamingMode = () => {
    clearTimeout(linger);
    torrent.setReader(LINGER_ID, { id: LINGER_ID, start: 0, end: 0, playhead: 0, bytesPerSecond: 1 });
    linger = setTimeout(() => {
      linger = undefined;
      torrent.setReader(LINGER_ID, undefined);
    }, SEEK_GRACE_MS);
    linger.unref();
  };
  const releaseStreamingMode = () => {
    if (linger === undefined) return;
    clearTimeout(linger);
    linger = undefined;
    torrent.setReader(LINGER_ID, undefined);
  };
  const adapter: StreamableTorrent = {
    infohash: torrent.infohash,
    get meta() {
      return torrent.meta;
    },
    get store() {
      return torrent.store;
    },
    whenReady(signal?: AbortSignal): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (torrent.meta && torrent.store) return resolve();
          if (torrent.state === 'error') return reject(new Error(torrent.error ?? 'torrent failed'));
          if (signal?.aborted) return reject(signal.reason);
          setTimeout(check, READY_POLL_MS);
        };
        check();
      });
    },
    addReader(reader) {
      readers.set(reader.id, reader);
      torrent.setReader(reader.id, reader.state());
      releaseStreamingMode();
      return () => {
        if (!readers.delete(reader.id)) return;
        if (readers.size === 0) holdStreamingMode();
        torrent.setReader(reader.id, undefined);
      };
    },
    replan() {
      for (const [id, r] of readers) torrent.setReader(id, r.state());
    },
  };
  adapters.set(torrent, adapter);
  return adapter;
}

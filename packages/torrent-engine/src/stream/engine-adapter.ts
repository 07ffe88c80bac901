/**
 * Adapts the engine's Torrent to what streaming needs (StreamableTorrent). The Torrent keeps
 * reader windows as plain values (setReader); readers here own live windows that move as they read,
 * so replan() pushes every registered reader's current window and lets the torrent plan again.
 */
import type { Torrent } from '../engine/torrent.js';
import type { RegisteredReader, StreamableTorrent } from './types.js';

/** How often whenReady looks again while a magnet's metadata or the storage check is pending. */
const READY_POLL_MS = 50;

const adapters = new WeakMap<Torrent, StreamableTorrent>();

export function streamableTorrent(torrent: Torrent): StreamableTorrent {
  const known = adapters.get(torrent);
  if (known) return known;
  const readers = new Map<string, RegisteredReader>();
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
      return () => {
        readers.delete(reader.id);
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

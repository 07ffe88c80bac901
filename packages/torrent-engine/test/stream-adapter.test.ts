// The engine adapter's whenReady: a listing or a stream for a magnet waits for its metadata and
// storage, and must answer the moment they are there (on the torrent's events, not a poll), fail
// when the torrent fails or the caller gives up, and leave no listener behind.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Torrent } from '../src/engine/torrent.js';
import { streamableTorrent } from '../src/stream/index.js';

function fakeTorrent() {
  const t = new EventEmitter() as EventEmitter & {
    infohash: string;
    meta: unknown;
    store: unknown;
    state: string;
    error: string | undefined;
    isStopped: boolean;
  };
  Object.assign(t, {
    infohash: 'b'.repeat(40),
    meta: undefined,
    store: undefined,
    state: 'metadata',
    isStopped: false,
  });
  return t;
}

const listeners = (t: EventEmitter) =>
  t.listenerCount('ready') + t.listenerCount('error') + t.listenerCount('stopped');

describe('whenReady', () => {
  it('resolves on the ready event, in the same turn, and unsubscribes', async () => {
    const t = fakeTorrent();
    const ready = streamableTorrent(t as unknown as Torrent).whenReady();
    let resolved = false;
    void ready.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    t.meta = {};
    t.store = {};
    t.emit('ready');
    await Promise.resolve();
    expect(resolved).toBe(true);
    expect(listeners(t)).toBe(0);
  });

  it('resolves at once when already ready', async () => {
    const t = fakeTorrent();
    t.meta = {};
    t.store = {};
    await streamableTorrent(t as unknown as Torrent).whenReady();
    expect(listeners(t)).toBe(0);
  });

  it('rejects with the torrent error, or when the caller gives up, and unsubscribes', async () => {
    const failing = fakeTorrent();
    const failed = streamableTorrent(failing as unknown as Torrent).whenReady();
    failing.state = 'error';
    failing.error = 'cannot open storage: disk full';
    failing.emit('error', new Error('disk full'));
    await expect(failed).rejects.toThrow('disk full');
    expect(listeners(failing)).toBe(0);

    const waiting = fakeTorrent();
    const giveUp = new AbortController();
    const gaveUp = streamableTorrent(waiting as unknown as Torrent).whenReady(giveUp.signal);
    giveUp.abort(new Error('no metadata within 60 s'));
    await expect(gaveUp).rejects.toThrow('no metadata within 60 s');
    expect(listeners(waiting)).toBe(0);
  });

  it('rejects at once when the torrent is removed while it waits, and unsubscribes', async () => {
    const t = fakeTorrent();
    const waited = streamableTorrent(t as unknown as Torrent).whenReady(AbortSignal.timeout(60_000));
    t.isStopped = true;
    t.emit('stopped');
    await expect(waited).rejects.toThrow('the torrent was stopped or removed');
    expect(listeners(t)).toBe(0);
  });
});

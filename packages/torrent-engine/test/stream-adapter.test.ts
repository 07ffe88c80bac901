// The engine adapter's whenReady: a listing or a stream for a magnet waits for its metadata and
// storage, and must answer the moment they are there (on the torrent's events, not a poll), fail
// when the torrent fails or the caller gives up, and leave no listener behind.
import { EventEmitter } from 'node:events';
import { SourceNotReady } from '@dream/http-stream';
import { describe, expect, it } from 'vitest';
import type { Torrent } from '../src/engine/torrent.js';
import { streamableTorrent, TorrentStreamSource } from '../src/stream/index.js';

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

describe('a listing of a torrent that cannot be listed yet', () => {
  const IH = 'c'.repeat(40);
  /** A torrent without metadata, as streamableTorrent would present it. */
  function noMetadata(paused: boolean) {
    const t = fakeTorrent();
    t.infohash = IH;
    Object.assign(t, { paused });
    return t;
  }
  const sourceOf = (t: ReturnType<typeof fakeTorrent> | undefined, metadataWaitMs = 100) => {
    const current = { t };
    const source = new TorrentStreamSource(
      () => (current.t ? streamableTorrent(current.t as unknown as Torrent) : undefined),
      {
        readaheadSeconds: 10,
        metadataWaitMs,
      },
    );
    return { source, current };
  };

  it('says at once that a paused magnet cannot get its metadata, and how to resume it', async () => {
    const started = Date.now();
    const { source } = sourceOf(noMetadata(true), 60_000);
    const err = await source.files(IH).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotReady);
    expect((err as Error).message).toContain(`torrent ${IH} is paused and its metadata`);
    expect((err as Error).message).toContain(`POST /api/torrents/${IH}/resume`);
    expect(Date.now() - started).toBeLessThan(1000); // not after the 60 s wait
  });

  it('says that no peer sent the metadata when the wait runs out, not that the torrent is unknown', async () => {
    const { source } = sourceOf(noMetadata(false));
    const err = await source.files(IH).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotReady);
    expect((err as Error).message).toContain(`no peer has sent torrent ${IH}'s metadata`);
    expect((err as Error).message).toContain('within 0.1 s');
  });

  it('names the failure of a torrent that failed, and answers unknown for one removed meanwhile', async () => {
    const failing = noMetadata(false);
    const { source } = sourceOf(failing, 5000);
    const failed = source.files(IH).catch((e: unknown) => e);
    failing.state = 'error';
    failing.error = 'cannot open storage: disk full';
    failing.emit('error', new Error('disk full'));
    const err = await failed;
    expect(err).toBeInstanceOf(SourceNotReady);
    expect((err as Error).message).toBe(`torrent ${IH} cannot be read: cannot open storage: disk full`);

    const removed = noMetadata(false);
    const { source: other, current } = sourceOf(removed, 5000);
    const gone = other.files(IH);
    current.t = undefined;
    removed.isStopped = true;
    removed.emit('stopped');
    expect(await gone).toBeUndefined();
  });
});

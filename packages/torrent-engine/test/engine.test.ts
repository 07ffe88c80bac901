// Two of our engines on loopback: one seeds a folder in place (added by path, seeding at once),
// the other downloads it from a .torrent plus a manual peer; files byte-identical.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '@dream/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { EngineError } from '../src/engine/errors.js';
import { streamableTorrent, TorrentStreamSource } from '../src/stream/index.js';
import { assertSameTree } from './peers/checks.js';
import { makeFiles, makeTempDir, removeDir } from './peers/fixtures.js';

const log = createLogger({ name: 'engine-test', level: 'silent' });

/** An engine on loopback with no trackers, writing under `outputDir`. */
function loopbackEngine(outputDir: string, more: { resumeDir?: string; maxConnections?: number } = {}) {
  return Engine.start({
    outputDir,
    host: '127.0.0.1',
    port: 0,
    maxConnections: 50,
    log,
    trackers: false,
    ...more,
  });
}

function once(e: Engine, name: 'done' | 'metadata', infohash: string): Promise<void> {
  return new Promise((resolve) => {
    const l = (ih: string) => {
      if (ih === infohash) {
        e.off(name, l);
        resolve();
      }
    };
    e.on(name, l);
  });
}

describe('engine to engine', () => {
  let dir: string;
  let seeder: Engine;
  let leecher: Engine;
  beforeAll(async () => {
    dir = await makeTempDir('dream-engine-');
    await makeFiles(join(dir, 'src'), [
      { path: 'show/ep1.mkv', size: 3 * 1024 * 1024 + 123 },
      { path: 'show/sub/ep1.srt', size: 4321 },
      { path: 'show/ep2.mkv', size: 2 * 1024 * 1024 },
    ]);
    seeder = await loopbackEngine(join(dir, 'seed-out'), { resumeDir: join(dir, 'seed-state') });
    leecher = await loopbackEngine(join(dir, 'leech-out'), { resumeDir: join(dir, 'leech-state') });
  });
  afterAll(async () => {
    await seeder?.stop();
    await leecher?.stop();
    await removeDir(dir);
  });

  it('seeds a folder in place at once and another engine downloads it byte-identical', async () => {
    const added = await seeder.add({ path: join(dir, 'src', 'show') });
    expect(added.state).toBe('seeding');
    expect(added.progress).toBe(1);
    const meta = seeder.torrent(added.infohash)?.meta;
    const torrent = meta?.torrent;
    expect(torrent).toBeDefined();
    const done = once(leecher, 'done', added.infohash);
    await leecher.add(
      { torrent: torrent as Uint8Array },
      { peers: [{ host: '127.0.0.1', port: seeder.port }] },
    );
    await done;
    await assertSameTree(join(dir, 'src', 'show'), join(dir, 'leech-out', 'show'));
    const d = leecher.detail(added.infohash);
    expect(d.state).toBe('seeding');
    expect(d.files.every((f) => f.bytes === f.length)).toBe(true);
    expect(d.wasted).toBe(0);
    expect(seeder.detail(added.infohash).uploaded).toBeGreaterThanOrEqual(meta?.length ?? 0);
    // The seeded-in-place original is not copied into the seeder's output dir.
    await expect(readFile(join(dir, 'seed-out', 'show', 'ep2.mkv'))).rejects.toThrow();
  });

  it('refuses a second add of the same torrent and unknown infohashes', async () => {
    const [t] = seeder.list();
    await expect(seeder.add({ infohash: t?.infohash as string })).rejects.toMatchObject({
      code: 'already-added',
    });
    expect(() => seeder.detail('00'.repeat(20))).toThrow(EngineError);
  });

  it('fetches only the selected files, and pause/resume stop and restart the transfer', async () => {
    const [t] = seeder.list();
    const ih = t?.infohash as string;
    const meta = seeder.torrent(ih)?.meta;
    const third = await loopbackEngine(join(dir, 'third-out'));
    try {
      // Files in torrent order: ep1.mkv (3 MiB), ep2.mkv (2 MiB), sub/ep1.srt.
      const files = meta?.files.map((f) => f.path) ?? [];
      const ep2 = files.indexOf('show/ep2.mkv');
      const added = await third.add(
        { torrent: meta?.torrent as Uint8Array },
        { selected: [ep2], paused: true, peers: [{ host: '127.0.0.1', port: seeder.port }] },
      );
      expect(added.state).toBe('paused');
      expect(third.detail(ih).peers).toBe(0);
      const done = once(third, 'done', ih);
      await third.resume(ih);
      await done;
      const d = third.detail(ih);
      const byPath = new Map(d.files.map((f) => [f.path, f]));
      expect(byPath.get('show/ep2.mkv')?.bytes).toBe(byPath.get('show/ep2.mkv')?.length);
      // ep1 shares at most one boundary piece with ep2: nearly all of it was not fetched.
      expect(byPath.get('show/ep1.mkv')?.bytes ?? 0).toBeLessThanOrEqual(meta?.pieceLength ?? 0);
      expect(d.downloaded).toBeLessThan((meta?.length ?? 0) / 2);
      await third.pause(ih);
      expect(third.detail(ih).peers).toBe(0);
      expect(third.detail(ih).state).toBe('paused');
    } finally {
      await third.stop();
    }
  });

  it('streams a file that is not selected: the stream selects it, and the rest stays unfetched', async () => {
    const ih = seeder.list()[0]?.infohash as string;
    const meta = seeder.torrent(ih)?.meta;
    const fifth = await loopbackEngine(join(dir, 'fifth-out'));
    try {
      const files = meta?.files.map((f) => f.path) ?? [];
      const ep1 = files.indexOf('show/ep1.mkv');
      const ep2 = files.indexOf('show/ep2.mkv');
      // Only ep2 wanted, and done: a player then asks for ep1 (another episode of the pack).
      const done = once(fifth, 'done', ih);
      await fifth.add(
        { torrent: meta?.torrent as Uint8Array },
        { selected: [ep2], peers: [{ host: '127.0.0.1', port: seeder.port }] },
      );
      await done;
      const source = new TorrentStreamSource(
        (h) => {
          const t = fifth.torrent(h);
          return t ? streamableTorrent(t) : undefined;
        },
        { readaheadSeconds: 10 },
      );
      const file = (await source.files(ih))?.find((f) => f.path === 'show/ep1.mkv');
      expect(file).toBeDefined();
      // Without the selection this read would wait forever: unselected pieces are never requested.
      const chunks: Buffer[] = [];
      for await (const c of file!.createReadStream(0, file!.size - 1, AbortSignal.timeout(20_000)))
        chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(await readFile(join(dir, 'src', 'show', 'ep1.mkv')))).toBe(true);
      const d = fifth.detail(ih);
      expect(d.files.filter((f) => f.selected).map((f) => f.index)).toEqual([ep1, ep2].sort((a, b) => a - b));
      // The subtitle nobody asked for was neither selected nor fetched (beyond a shared piece).
      const srt = d.files.find((f) => f.path === 'show/sub/ep1.srt');
      expect(srt?.selected).toBe(false);
    } finally {
      await fifth.stop();
    }
  });

  it("refuses a magnet's selection that its metadata shows wrong: a clear error, and nothing fetched", async () => {
    const ih = seeder.list()[0]?.infohash as string;
    const sixth = await loopbackEngine(join(dir, 'sixth-out'));
    try {
      // A magnet's files are unknown at the add, so its selection is checked when they are.
      await sixth.add(
        { magnet: `magnet:?xt=urn:btih:${ih}` },
        { selected: [1, 99], peers: [{ host: '127.0.0.1', port: seeder.port }] },
      );
      for (let i = 0; i < 100 && sixth.detail(ih).state !== 'error'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const d = sixth.detail(ih);
      expect(d.state).toBe('error');
      expect(d.error).toBe(
        `the files selected when it was added (99) are not in this torrent, whose 3 files are numbered 0 to 2 (GET /api/torrents/${ih} lists them): remove it and add it again with those numbers`,
      );
      // It does not go on transferring in the error state (it did, from the peer that sent the metadata).
      await new Promise((r) => setTimeout(r, 500));
      expect(sixth.detail(ih).downloaded).toBe(0);
      expect(sixth.detail(ih).peers).toBe(0);
    } finally {
      await sixth.stop();
    }
  });

  it("creates the main file's storage at the add, before any peer, but not for a paused torrent", async () => {
    const meta = seeder.torrent(seeder.list()[0]?.infohash as string)?.meta;
    const out = join(dir, 'prepared-out');
    const fourth = await loopbackEngine(out);
    try {
      // No peers anywhere: nothing can be downloaded, so any file on disk was prepared.
      const paused = await fourth.add({ torrent: meta?.torrent as Uint8Array }, { paused: true });
      await new Promise((r) => setTimeout(r, 300));
      await expect(readdir(out)).resolves.toEqual([]);
      await fourth.remove(paused.infohash);
      await fourth.add({ torrent: meta?.torrent as Uint8Array });
      const main = join(out, 'show', 'ep1.mkv'); // the largest file: what a player opens
      let size: number | undefined;
      for (let i = 0; i < 40 && size === undefined; i++) {
        size = await stat(main).then(
          (st) => st.size,
          () => undefined,
        );
        if (size === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(size).toBe(3 * 1024 * 1024 + 123);
      expect(await readdir(join(out, 'show'))).toEqual(['ep1.mkv']); // only that one
    } finally {
      await fourth.stop();
    }
  });

  it('keeps to torrent.max_connections across torrents', async () => {
    const [t] = seeder.list();
    const ih = t?.infohash as string;
    const meta = seeder.torrent(ih)?.meta;
    const other = await loopbackEngine(join(dir, 'limited-out'), { maxConnections: 1 });
    try {
      const done = once(other, 'done', ih);
      await other.add(
        { torrent: meta?.torrent as Uint8Array },
        {
          peers: [
            { host: '127.0.0.1', port: seeder.port },
            { host: '127.0.0.1', port: leecher.port },
          ],
        },
      );
      await done;
      expect(other.connectionCount()).toBeLessThanOrEqual(1);
      expect(other.detail(ih).peerList.length).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it('keeps a magnet across a restart before its metadata arrives, then completes it', async () => {
    const [t] = seeder.list();
    const ih = t?.infohash as string;
    const state = join(dir, 'magnet-state');
    const start = () => loopbackEngine(join(dir, 'magnet-out'), { resumeDir: state });
    const first = await start();
    await first.add({ magnet: `magnet:?xt=urn:btih:${ih}&dn=show` });
    await first.stop();
    expect(await readdir(state)).toContain(`${ih}.magnet.json`);

    const second = await start();
    try {
      const restored = second.detail(ih);
      expect(restored.state).toBe('metadata');
      expect(restored.name).toBe('show');
      const done = once(second, 'done', ih);
      second.addPeers(ih, [{ host: '127.0.0.1', port: seeder.port }]);
      await done;
      await assertSameTree(join(dir, 'src', 'show'), join(dir, 'magnet-out', 'show'));
      // Real resume data replaces the pending record.
      await second.torrent(ih)?.flushResume();
      const files = await readdir(state);
      expect(files).toContain(`${ih}.json`);
      expect(files).not.toContain(`${ih}.magnet.json`);
    } finally {
      await second.stop();
    }
  });

  it('stores a second torrent with the same file names under output_dir/<infohash>', async () => {
    await makeFiles(join(dir, 'other'), [{ path: 'show/ep1.mkv', size: 700_000 }], 'another release');
    const b = await seeder.add({ path: join(dir, 'other', 'show') });
    const done = once(leecher, 'done', b.infohash);
    await leecher.add(
      { torrent: seeder.torrent(b.infohash)?.meta?.torrent as Uint8Array },
      { peers: [{ host: '127.0.0.1', port: seeder.port }] },
    );
    await done;
    expect(leecher.detail(b.infohash).root).toBe(join(dir, 'leech-out', b.infohash));
    await assertSameTree(join(dir, 'other', 'show'), join(dir, 'leech-out', b.infohash, 'show'));
    // The first torrent's files are untouched.
    await assertSameTree(join(dir, 'src', 'show'), join(dir, 'leech-out', 'show'));
  });
});

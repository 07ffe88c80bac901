import { mkdir, mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parseTorrentLib from 'parse-torrent';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bitfield } from '../src/bitfield.js';
import { CreateError, createTorrent, defaultPieceLength } from '../src/create/index.js';
import { parseTorrent } from '../src/metainfo/index.js';
import { PieceStore } from '../src/storage/index.js';
import { makeTorrent } from './peers/fixtures.js';
import { startLibtorrent } from './peers/libtorrent.js';
import { content, libtorrentInfo } from './storage-helpers.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'create-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

describe('defaultPieceLength', () => {
  it.each([
    [1, 256 * 1024],
    [200 * MiB, 256 * 1024],
    [1024 * MiB, MiB],
    [4096 * MiB, 4 * MiB],
    [64 * 1024 * MiB, 4 * MiB],
  ])('%d bytes -> %d', (total, expected) => {
    expect(defaultPieceLength(total)).toBe(expected);
  });
});

describe('createTorrent', () => {
  it('makes a single-file torrent that we, parse-torrent and libtorrent read alike', async () => {
    const file = join(tmp, 'clip.mp4');
    await writeFile(file, content(3 * MiB + 123, 5));
    const progress: number[] = [];
    const { torrent, meta } = await createTorrent(file, {
      trackers: [['udp://127.0.0.1:6969/announce'], ['http://127.0.0.1:8000/announce']],
      comment: 'hello',
      onProgress: (h, t) => {
        expect(t).toBe(3 * MiB + 123);
        progress.push(h);
      },
    });
    expect(meta.name).toBe('clip.mp4');
    expect(meta.pieceLength).toBe(256 * 1024);
    expect(meta.pieceCount).toBe(13);
    expect(progress.at(-1)).toBe(3 * MiB + 123);
    expect(meta.trackers).toEqual([['udp://127.0.0.1:6969/announce'], ['http://127.0.0.1:8000/announce']]);
    const ref = await parseTorrentLib(Buffer.from(torrent));
    expect(ref.infoHash).toBe(meta.infohash);
    expect(ref.length).toBe(meta.length);
    const path = join(tmp, 'clip.torrent');
    await writeFile(path, torrent);
    expect(libtorrentInfo(path)).toEqual({ v1: meta.infohash, numPieces: 13 });
    // Seeding in place works straight away: every piece verifies against the original.
    const store = await PieceStore.open(meta, { root: join(tmp, 'out'), contentPath: file });
    expect(store.have.isComplete()).toBe(true);
    await store.close();
  });

  it('makes a folder torrent in byte order, with empty files, skipping OS junk', async () => {
    const dir = join(tmp, 'Holiday');
    await mkdir(join(dir, 'b'), { recursive: true });
    await writeFile(join(dir, 'b', 'z.bin'), content(100_000, 1));
    await writeFile(join(dir, 'a.bin'), content(300_000, 2));
    await writeFile(join(dir, 'B.txt'), 'upper');
    await writeFile(join(dir, 'empty'), '');
    await writeFile(join(dir, '.DS_Store'), 'junk');
    const { torrent, meta } = await createTorrent(dir, {
      pieceLength: 16384,
      private: true,
      name: 'Holiday 2024',
    });
    expect(meta.files.map((f) => f.path)).toEqual([
      'Holiday 2024/B.txt',
      'Holiday 2024/a.bin',
      'Holiday 2024/b/z.bin',
      'Holiday 2024/empty',
    ]);
    expect(meta.private).toBe(true);
    const path = join(tmp, 'h.torrent');
    await writeFile(path, torrent);
    expect(libtorrentInfo(path).v1).toBe(meta.infohash);
    expect((await parseTorrentLib(Buffer.from(torrent))).infoHash).toBe(meta.infohash);
    expect(parseTorrent(torrent).infohash).toBe(meta.infohash);
    const store = await PieceStore.open(meta, { root: join(tmp, 'out'), contentPath: dir });
    expect(store.have.isComplete()).toBe(true);
    await store.close();
  });

  it('returns resume data that lets a long-unchanged upload seed in place without a second hash', async () => {
    const file = join(tmp, 'old.mkv');
    await writeFile(file, content(1 * MiB, 9));
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    await utimes(file, hourAgo, hourAgo);
    const { meta, resume } = await createTorrent(file);
    expect(resume.contentPath).toBe(file);
    expect(Bitfield.fromBytes(meta.pieceCount, Buffer.from(resume.have, 'base64')).isComplete()).toBe(true);
    // Change a byte but restore the mtime: a store opened with this resume trusts the file (no
    // second hash), one opened without it hashes and sees the change.
    const bytes = await readFile(file);
    bytes[5] = (bytes[5] ?? 0) ^ 1;
    await writeFile(file, bytes);
    await utimes(file, hourAgo, hourAgo);
    const trusted = await PieceStore.open(meta, { root: join(tmp, 'out'), contentPath: file, resume });
    expect(trusted.have.isComplete()).toBe(true);
    await trusted.close();
    const checked = await PieceStore.open(meta, { root: join(tmp, 'out'), contentPath: file });
    expect(checked.have.get(0)).toBe(false);
    await checked.close();
  });

  it('does not vouch for a file modified just before hashing', async () => {
    const file = join(tmp, 'fresh.mkv');
    await writeFile(file, content(300_000, 9));
    const { meta, resume } = await createTorrent(file);
    expect(Buffer.from(resume.have, 'base64').every((b) => b === 0)).toBe(true);
    const store = await PieceStore.open(meta, { root: join(tmp, 'out'), contentPath: file, resume });
    expect(store.have.isComplete()).toBe(true); // verified by hashing instead
    await store.close();
  });

  it('with settle, waits until a just-written file is old enough to vouch for it', async () => {
    // dream-cli upload --faststart hashes the copy ffmpeg has just written: without waiting, the
    // daemon hashed it a second time. The wait is at most 2 s, a rehash of a video far longer.
    const file = join(tmp, 'remuxed.mkv');
    await writeFile(file, content(300_000, 11));
    const { meta, resume } = await createTorrent(file, { settle: true });
    expect(Bitfield.fromBytes(meta.pieceCount, Buffer.from(resume.have, 'base64')).isComplete()).toBe(true);
    expect(resume.files[0]?.mtimeMs).toBeGreaterThan(0);
  });

  it('refuses what it cannot share faithfully', async () => {
    await expect(createTorrent(join(tmp, 'missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await writeFile(join(tmp, 'zero'), '');
    await expect(createTorrent(join(tmp, 'zero'))).rejects.toMatchObject({ code: 'EMPTY' });
    await mkdir(join(tmp, 'bad'));
    await writeFile(join(tmp, 'bad', 'CON.txt'), 'x');
    const e = await createTorrent(join(tmp, 'bad')).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CreateError);
    expect((e as CreateError).code).toBe('UNPORTABLE_NAME');
    expect((e as CreateError).message).toMatch(/CON\.txt.*rename/);
    await writeFile(join(tmp, 'x'), 'data');
    await expect(createTorrent(join(tmp, 'x'), { pieceLength: 1000 })).rejects.toMatchObject({
      code: 'BAD_PIECE_LENGTH',
    });
  });

  it('stops when aborted', async () => {
    const file = join(tmp, 'big');
    const h = await open(file, 'w');
    await h.truncate(64 * MiB);
    await h.close();
    const ac = new AbortController();
    const p = createTorrent(file, {
      onProgress: (n) => {
        if (n >= 4 * MiB) ac.abort();
      },
      signal: ac.signal,
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('hashes a 512 MiB file in constant memory', async () => {
    const file = join(tmp, 'sparse.mkv');
    const h = await open(file, 'w');
    await h.truncate(512 * MiB);
    await h.write(Buffer.from('not all zeros'), 0, 13, 300 * MiB);
    await h.close();
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const { meta } = await createTorrent(file, {
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    expect(meta.length).toBe(512 * MiB);
    expect(meta.pieceLength).toBe(512 * 1024);
    expect(meta.pieceCount).toBe(1024);
    const growth = (peak - before) / MiB;
    console.log(`createTorrent 512 MiB: RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64);
    expect((await stat(file)).size).toBe(512 * MiB);
  }, 120_000);
});

describe('createTorrent, hybrid v1+v2 (BEP 52)', () => {
  it.each([
    ['several pieces, the last one short', 3 * MiB + 123],
    ['within one piece', 40_000],
    ['one block', 10_000],
  ])(
    '%s: the same v2 tree as libtorrent makes, and libtorrent checks the file against both halves',
    async (_what, size) => {
      const dir = join(tmp, 'src');
      await mkdir(dir);
      const file = join(dir, 'clip.mp4');
      await writeFile(file, content(size, 9));
      const { torrent, meta } = await createTorrent(file, { hybrid: true, pieceLength: 256 * 1024 });
      expect(meta.infohashV2).toMatch(/^[0-9a-f]{64}$/);
      const ours = meta.files[0]!;
      const lt = parseTorrent(
        (await makeTorrent({ source: file, flavour: 'libtorrent-hybrid', pieceLength: 256 * 1024 })).torrent,
      );
      const theirs = lt.files[0]!;
      expect(Buffer.from(ours.piecesRoot!).equals(Buffer.from(theirs.piecesRoot!))).toBe(true);
      expect(ours.pieceLayer === undefined).toBe(theirs.pieceLayer === undefined);
      if (ours.pieceLayer)
        expect(Buffer.from(ours.pieceLayer).equals(Buffer.from(theirs.pieceLayer!))).toBe(true);
      // libtorrent, not in seed mode, hashes the file against our torrent: a seed only if v1 and v2 agree.
      const peer = await startLibtorrent({ savePath: dir, torrent });
      try {
        const done = await peer.waitFinished(30_000);
        expect(done.progress).toBe(1);
        expect(peer.infoHash).toBe(meta.infohash);
      } finally {
        await peer.stop();
      }
    },
    60_000,
  );

  it('refuses a folder (hybrid torrents need pad files between files)', async () => {
    await mkdir(join(tmp, 'pack'));
    await writeFile(join(tmp, 'pack', 'a.mkv'), content(1000, 1));
    await expect(createTorrent(join(tmp, 'pack'), { hybrid: true })).rejects.toMatchObject({
      code: 'HYBRID_FOLDER',
    });
  });
});

describe('error catalogues', () => {
  it('documents every create and storage error code in docs/design/storage.md', async () => {
    const { readFileSync } = await import('node:fs');
    const { CREATE_ERROR_CODES } = await import('../src/create/index.js');
    const { STORAGE_ERROR_CODES } = await import('../src/storage/index.js');
    const doc = readFileSync(new URL('../../../docs/design/storage.md', import.meta.url), 'utf8');
    for (const code of [...CREATE_ERROR_CODES, ...STORAGE_ERROR_CODES])
      expect(doc, code).toContain(`\`${code}\``);
  });
});

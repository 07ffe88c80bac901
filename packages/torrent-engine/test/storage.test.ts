import { constants } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTorrent, type TorrentMeta } from '../src/metainfo/index.js';
import { FdPool } from '../src/storage/fd-pool.js';
import { Layout, PieceStore, StorageError } from '../src/storage/index.js';
import {
  buildTorrent,
  content,
  type FileSpec,
  HOSTILE_TORRENTS,
  libtorrentCreate,
  piecesOf,
  twoFileTorrent,
} from './storage-helpers.js';

let tmp: string;
let root: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'storage-'));
  root = join(tmp, 'root');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every regular file under dir, as relative paths. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

async function writeAll(store: PieceStore, data: Buffer, order?: number[]): Promise<void> {
  const pieces = piecesOf(data, store.meta.pieceLength);
  for (const i of order ?? pieces.map((_, i) => i)) {
    expect(await store.writePiece(i, pieces[i] as Buffer)).toBe('ok');
  }
}

function fileSlice(meta: TorrentMeta, data: Buffer, index: number): Buffer {
  const f = meta.files[index];
  if (!f) throw new Error('no file');
  return data.subarray(f.offset, f.offset + f.length);
}

describe('Layout', () => {
  it('maps any byte range to contiguous file segments (property, with zero-length files)', () => {
    let seed = 5;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let trial = 0; trial < 30; trial++) {
      const files: FileSpec[] = Array.from({ length: 1 + rnd(12) }, (_, i) => ({
        path: [`f${i}`],
        length: rnd(3) === 0 ? 0 : 1 + rnd(50_000),
      }));
      if (files.every((f) => f.length === 0)) (files[0] as FileSpec).length = 1;
      const meta = parseTorrent(buildTorrent({ name: 'p', files }).bytes);
      const layout = new Layout(meta);
      for (let k = 0; k < 50; k++) {
        const offset = rnd(meta.length);
        const length = 1 + rnd(meta.length - offset);
        const segs = layout.segments(offset, length);
        let pos = 0;
        for (const s of segs) {
          expect(s.rangeOffset).toBe(pos);
          expect(s.length).toBeGreaterThan(0);
          expect(s.file.offset + s.fileOffset).toBe(offset + pos);
          expect(s.fileOffset + s.length).toBeLessThanOrEqual(s.file.length);
          pos += s.length;
        }
        expect(pos).toBe(length);
      }
    }
  });
});

describe('FdPool', () => {
  it('upgrades read-only handles, evicts beyond its size, and leaks nothing under concurrency', async () => {
    await mkdir(root, { recursive: true });
    const opens: string[] = [];
    const pool = new FdPool(async (key, writable) => {
      opens.push(`${key}${writable ? 'w' : 'r'}`);
      return open(join(root, `f${key}`), constants.O_RDWR | constants.O_CREAT);
    }, 2);
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const key = i % 5;
      const writable = i % 3 === 0;
      jobs.push(
        pool.with(key, writable, async (h) => {
          if (writable) await h.write(Buffer.from([i & 0xff]), 0, 1, i);
          else await h.stat();
        }),
      );
    }
    await Promise.all(jobs);
    await pool.syncAll();
    const fds = await readdir('/proc/self/fd');
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    expect(targets.filter((t) => t.startsWith(root)).length).toBeLessThanOrEqual(2);
    await pool.closeAll();
    const after = await Promise.all(
      (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
    );
    expect(after.filter((t) => t.startsWith(root))).toEqual([]);
    expect(opens.some((o) => o.endsWith('w'))).toBe(true);
    await expect(pool.with(0, false, async () => 1)).rejects.toThrow(/closed/);
  });
});

describe('PieceStore: layout', () => {
  it('writes a multi-file torrent (pieces spanning files) and reads it back by file, byte-identical', async () => {
    const files: FileSpec[] = [
      { path: ['a.txt'], length: 1000 },
      { path: ['sub', 'b.bin'], length: 40_000 },
      { path: ['empty'], length: 0 },
      { path: ['sub', 'deeper', 'c.bin'], length: 33_000 },
    ];
    const t = buildTorrent({ name: 'pack', files });
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    expect(store.have.count()).toBe(0);
    const seen: number[] = [];
    store.on('piece', (i) => seen.push(i));
    // Reverse order: files are written out of order and sparse until complete.
    await writeAll(store, t.data, [4, 3, 2, 1, 0]);
    expect(seen).toEqual([4, 3, 2, 1, 0]);
    expect(store.have.isComplete()).toBe(true);
    for (const f of meta.files) {
      expect(
        Buffer.from(await store.read(f.index, 0, f.length)).equals(fileSlice(meta, t.data, f.index)),
      ).toBe(true);
      expect((await readFile(join(root, f.path))).equals(fileSlice(meta, t.data, f.index))).toBe(true);
    }
    expect(await walk(root)).toEqual(['pack/a.txt', 'pack/empty', 'pack/sub/b.bin', 'pack/sub/deeper/c.bin']);
    // A piece that spans a.txt and b.bin, as the seeding cache reads it.
    const piece = new Uint8Array(meta.pieceSize(0));
    await store.readPieceInto(0, piece);
    expect(Buffer.from(piece).equals(t.data.subarray(0, piece.length))).toBe(true);
    expect(store.fileProgress()).toEqual(
      meta.files.map((f) => ({ index: f.index, bytes: f.length, total: f.length })),
    );
    await store.close();
  });

  it('refuses a bad piece: not had, not written, not readable', async () => {
    const t = buildTorrent({ length: 50_000 });
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    const bad = Buffer.from(piecesOf(t.data, meta.pieceLength)[1] as Buffer);
    bad[7] = (bad[7] ?? 0) ^ 1;
    expect(await store.writePiece(1, bad)).toBe('hash-mismatch');
    expect(store.have.get(1)).toBe(false);
    await expect(store.readPieceInto(1, new Uint8Array(meta.pieceSize(1)))).rejects.toMatchObject({
      code: 'NOT_VERIFIED',
    });
    await expect(store.read(0, 16_384, 10)).rejects.toMatchObject({ code: 'NOT_VERIFIED' });
    await expect(store.writePiece(0, Buffer.alloc(3))).rejects.toBeInstanceOf(StorageError);
    await expect(store.writePiece(0, Buffer.alloc(3))).rejects.toMatchObject({ code: 'BAD_PIECE_SIZE' });
    await expect(store.writePiece(99, Buffer.alloc(3))).rejects.toThrow(/outside/);
    await expect(stat(join(root, 'test'))).rejects.toMatchObject({ code: 'ENOENT' });
    await store.close();
  });

  it('lays out a libtorrent hybrid v1+v2 torrent with pad files; pads never reach the disk', async () => {
    const src = join(tmp, 'src', 'show');
    await mkdir(join(src, 'season 1'), { recursive: true });
    const originals: Record<string, Buffer> = {
      'show/a.mkv': content(50_000, 11),
      'show/season 1/b.mkv': content(70_000, 12),
      'show/c.srt': content(10, 13),
    };
    for (const [p, b] of Object.entries(originals)) await writeFile(join(tmp, 'src', p), b);
    const lt = libtorrentCreate(src, join(tmp, 'h.torrent'));
    const meta = parseTorrent(await readFile(join(tmp, 'h.torrent')));
    expect(meta.infohash).toBe(lt.v1);
    expect(meta.files.filter((f) => f.pad).length).toBeGreaterThan(0);
    const data = Buffer.concat(
      meta.files.map((f) => (f.pad ? Buffer.alloc(f.length) : (originals[f.path] as Buffer))),
    );
    const store = await PieceStore.open(meta, { root });
    const order = [...Array(meta.pieceCount).keys()].sort(() => Math.random() - 0.5);
    await writeAll(store, data, order);
    expect(await walk(root)).toEqual(Object.keys(originals).sort());
    for (const f of meta.files) {
      const got = Buffer.from(await store.read(f.index, 0, f.length));
      expect(got.equals(f.pad ? Buffer.alloc(f.length) : (originals[f.path] as Buffer))).toBe(true);
    }
    // Into reused memory (the seeding cache's): every byte overwritten, a pad file's with zeros.
    for (let i = 0; i < meta.pieceCount; i++) {
      const into = new Uint8Array(meta.pieceSize(i)).fill(0xff);
      await store.readPieceInto(i, into);
      const start = i * meta.pieceLength;
      expect(Buffer.from(into).equals(data.subarray(start, start + into.length))).toBe(true);
      // A span of it, as the cache reads a piece larger than its span: the piece's second half.
      const half = Math.floor(into.length / 2);
      const span = new Uint8Array(into.length - half).fill(0xff);
      await store.readPieceInto(i, span, half);
      expect(Buffer.from(span).equals(data.subarray(start + half, start + into.length))).toBe(true);
    }
    const size0 = meta.pieceSize(0);
    await expect(store.readPieceInto(0, new Uint8Array(3), size0 - 2)).rejects.toMatchObject({
      code: 'OUT_OF_RANGE',
      message: expect.stringContaining(`3 bytes from byte ${size0 - 2} of piece 0, which has ${size0}`),
    });
    await expect(store.readPieceInto(0, new Uint8Array(3), -1)).rejects.toMatchObject({
      code: 'OUT_OF_RANGE',
    });
    await store.close();
  });

  it('keeps open file handles bounded', async () => {
    const files: FileSpec[] = Array.from({ length: 60 }, (_, i) => ({ path: [`f${i}`], length: 5000 }));
    const t = buildTorrent({ name: 'many', files });
    const store = await PieceStore.open(parseTorrent(t.bytes), { root, maxOpenFiles: 4 });
    let peak = 0;
    const pieces = piecesOf(t.data, store.meta.pieceLength);
    for (let i = 0; i < pieces.length; i++) {
      await store.writePiece(i, pieces[i] as Buffer);
      const fds = await readdir('/proc/self/fd');
      const ours = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      peak = Math.max(peak, ours.filter((p) => p.startsWith(root)).length);
    }
    expect(store.have.isComplete()).toBe(true);
    // 4 cached plus those of the piece in flight (a 16 KiB piece spans at most 5 files here).
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(4 + 5);
    await store.close();
  });

  it('refuses a second torrent whose files would land on an open one', async () => {
    const a = parseTorrent(buildTorrent({ name: 'video.mkv', length: 50_000, seed: 1 }).bytes);
    const b = parseTorrent(buildTorrent({ name: 'video.mkv', length: 60_000, seed: 2 }).bytes);
    const first = await PieceStore.open(a, { root });
    await expect(PieceStore.open(b, { root })).rejects.toMatchObject({ code: 'IN_USE' });
    const elsewhere = await PieceStore.open(b, { root: join(tmp, 'other') });
    await elsewhere.close();
    await first.close();
    const second = await PieceStore.open(b, { root });
    await second.close();
  });

  it('selects files: wanted pieces cover the selected files only', async () => {
    const t = twoFileTorrent('sel', ['a', 'b'], 40_000);
    const store = await PieceStore.open(parseTorrent(t.bytes), { root });
    expect(store.wantedPieces().count()).toBe(5);
    store.setFileSelection([1]);
    expect(store.selectedFiles).toEqual([1]);
    expect([...store.wantedPieces().indices()]).toEqual([2, 3, 4]); // piece 2 spans a and b
    expect(() => store.setFileSelection([2])).toThrow(/outside/);
    await store.close();
  });

  it('prepares a file before its first piece: created at full size, only if selected and missing', async () => {
    const t = twoFileTorrent('prep', ['a', 'b'], 40_000);
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    store.setFileSelection([1]);
    expect(await store.prepareFile(0)).toBe(false); // not selected: nothing created
    expect(await store.prepareFile(1)).toBe(true);
    expect(await walk(root)).toEqual(['prep/b']);
    expect((await stat(join(root, 'prep', 'b'))).size).toBe(40_000); // sparse, final size
    expect(await store.prepareFile(7)).toBe(false); // no such file: no error either
    // By a reader's start offset: byte 40,005 is in b (prepared already: still true), byte 5 in a.
    expect(await store.prepareFileAt(40_005)).toBe(true);
    expect(await store.prepareFileAt(5)).toBe(false); // a: not selected
    expect(await store.prepareFileAt(80_000)).toBe(false); // past the end
    // The prepared file takes the data as usual, and a complete file is not prepared again.
    await writeAll(store, t.data, [2, 3, 4]);
    expect(await store.prepareFile(1)).toBe(false);
    expect(await readFile(join(root, 'prep', 'b'))).toEqual(fileSlice(meta, t.data, 1));
    await store.close();
    expect(await store.prepareFile(1)).toBe(false); // closed: refused quietly
  });

  it('a hash-checked piece is readable while it is written, as a copy, and had only once on disk', async () => {
    const t = buildTorrent({ name: 'mem', length: 100_000, pieceLength: 32_768 });
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    const piece = Buffer.from(piecesOf(t.data, meta.pieceLength)[1] as Buffer);
    let duringWrite: { have: boolean; verified: boolean; read: Promise<Uint8Array> } | undefined;
    store.once('verified', (index) => {
      expect(index).toBe(1);
      duringWrite = {
        have: store.have.get(1),
        verified: store.isVerified(1),
        read: store.read(0, 32_768 + 1000, 5000),
      };
    });
    expect(store.isVerified(1)).toBe(false);
    expect(await store.writePiece(1, piece)).toBe('ok');
    expect(duringWrite?.have).toBe(false); // not durable yet: not offered to peers, not in resume data
    expect(duringWrite?.verified).toBe(true);
    piece.fill(0); // the engine reuses its piece buffers once the write is done
    expect(Buffer.from(await duringWrite!.read)).toEqual(t.data.subarray(32_768 + 1000, 32_768 + 6000));
    expect(store.have.get(1)).toBe(true);
    // A piece that fails its hash is never readable.
    const bad = Buffer.from(piecesOf(t.data, meta.pieceLength)[2] as Buffer);
    bad[0] = (bad[0] ?? 0) ^ 1;
    let sawBad = false;
    store.once('verified', () => (sawBad = true));
    expect(await store.writePiece(2, bad)).toBe('hash-mismatch');
    expect(sawBad).toBe(false);
    expect(store.isVerified(2)).toBe(false);
    await store.close();
  });
});

describe('PieceStore: nothing is written outside the root', () => {
  // Every accepted case of the hostile-torrent table, written in full under a temp root.
  const accepted = HOSTILE_TORRENTS.filter((c) => c.code === undefined);

  it('covers every accepted hostile case', () => {
    expect(accepted.length).toBeGreaterThan(10);
  });

  it.each(accepted)('$name', async ({ bytes }) => {
    const before = await readdir(tmp);
    const t = bytes();
    if (t instanceof Uint8Array) throw new Error('accepted cases must carry their content');
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    await writeAll(store, t.data);
    for (const f of meta.files) {
      expect(
        Buffer.from(await store.read(f.index, 0, f.length)).equals(fileSlice(meta, t.data, f.index)),
      ).toBe(true);
    }
    await store.close();
    expect((await readdir(tmp)).sort()).toEqual([...new Set([...before, 'root'])].sort());
    const onDisk = await walk(root);
    expect(onDisk).toEqual(meta.files.map((f) => f.path).sort());
    await store.deleteData();
    expect(await readdir(root)).toEqual([]);
  });

  it('does not write through a symlinked directory planted inside the root', async () => {
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    await mkdir(join(root, 'pack'), { recursive: true });
    await symlink(outside, join(root, 'pack', 'evil'));
    const t = buildTorrent({ name: 'pack', files: [{ path: ['evil', 'x'], length: 100 }] });
    const store = await PieceStore.open(parseTorrent(t.bytes), { root });
    await expect(store.writePiece(0, t.data)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(store.have.get(0)).toBe(false);
    expect(await readdir(outside)).toEqual([]);
    await store.close();
  });

  it('does not write through a symlinked file planted inside the root', async () => {
    const outside = join(tmp, 'victim');
    await writeFile(outside, 'precious');
    await mkdir(root, { recursive: true });
    await symlink(outside, join(root, 'single'));
    const t = buildTorrent({ name: 'single', length: 100 });
    const store = await PieceStore.open(parseTorrent(t.bytes), { root });
    expect(store.have.get(0)).toBe(false);
    await expect(store.writePiece(0, t.data)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readFile(outside, 'utf8')).toBe('precious');
    await store.close();
  });
});

describe('PieceStore: existing data', () => {
  it('verifies data already under the root on open', async () => {
    const t = buildTorrent({ name: 'movie.bin', length: 100_000 });
    await mkdir(root);
    const onDisk = Buffer.from(t.data);
    onDisk[40_000] = (onDisk[40_000] ?? 0) ^ 0xff; // piece 2
    await writeFile(join(root, 'movie.bin'), onDisk);
    const progress: number[] = [];
    const store = await PieceStore.open(parseTorrent(t.bytes), { root, onProgress: (c) => progress.push(c) });
    expect([...store.have.indices()]).toEqual([0, 1, 3, 4, 5, 6]);
    expect(progress.at(-1)).toBe(7);
    await store.close();
  });

  it('seeds a single file in place: have = all, never moved or copied, a wrong byte un-haves its piece', async () => {
    const t = buildTorrent({ name: 'video.mp4', length: 200_000 });
    const original = join(tmp, 'Videos', 'my video.mp4');
    await mkdir(join(tmp, 'Videos'));
    await writeFile(original, t.data);
    const before = await stat(original);
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root, contentPath: original });
    expect(store.have.isComplete()).toBe(true);
    expect(store.filePath(0)).toBe(original);
    const piece = new Uint8Array(meta.pieceSize(3));
    await store.readPieceInto(3, piece);
    expect(Buffer.from(piece).equals(t.data.subarray(3 * 16384, 3 * 16384 + piece.length))).toBe(true);
    await store.deleteData(); // must not touch the original
    const after = await stat(original);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(join(tmp, 'Videos'))).toEqual(['my video.mp4']);
    expect(await readdir(root).catch(() => [])).toEqual([]);

    const corrupt = Buffer.from(t.data);
    corrupt[5 * 16384 + 7] = (corrupt[5 * 16384 + 7] ?? 0) ^ 1;
    await writeFile(original, corrupt);
    const again = await PieceStore.open(meta, { root, contentPath: original });
    expect(again.have.count()).toBe(meta.pieceCount - 1);
    expect(again.have.get(5)).toBe(false);
    // The user's file is theirs: nothing is fetched for it, and nothing is written back into it.
    expect(again.wantedPieces().isEmpty()).toBe(true);
    const goodPiece = t.data.subarray(5 * 16384, 6 * 16384);
    await expect(again.writePiece(5, goodPiece)).rejects.toMatchObject({ code: 'IN_PLACE' });
    expect((await readFile(original)).equals(corrupt)).toBe(true);
    await again.close();
  });

  it('seeds a folder in place', async () => {
    const t = buildTorrent({
      name: 'album',
      files: [
        { path: ['one.flac'], length: 30_000 },
        { path: ['cd2', 'two.flac'], length: 30_000 },
      ],
    });
    const meta = parseTorrent(t.bytes);
    const folder = join(tmp, 'My Album');
    await mkdir(join(folder, 'cd2'), { recursive: true });
    await writeFile(join(folder, 'one.flac'), fileSlice(meta, t.data, 0));
    await writeFile(join(folder, 'cd2', 'two.flac'), fileSlice(meta, t.data, 1));
    const ino = (await stat(join(folder, 'one.flac'))).ino;
    const store = await PieceStore.open(meta, { root, contentPath: folder });
    expect(store.have.isComplete()).toBe(true);
    expect(Buffer.from(await store.read(1, 0, 30_000)).equals(fileSlice(meta, t.data, 1))).toBe(true);
    await store.deleteData();
    expect((await stat(join(folder, 'one.flac'))).ino).toBe(ino);
    await expect(readdir(join(root, 'album'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(PieceStore.open(meta, { root, contentPath: join(tmp, 'nope') })).rejects.toMatchObject({
      code: 'CONTENT_MISSING',
    });
  });

  it('refuses to serve a piece whose file shrank behind our back', async () => {
    const t = buildTorrent({ name: 'f.bin', length: 60_000 });
    const meta = parseTorrent(t.bytes);
    const store = await PieceStore.open(meta, { root });
    await writeAll(store, t.data);
    await writeFile(join(root, 'f.bin'), t.data.subarray(0, 20_000));
    const lost: number[] = [];
    store.on('lost', (i) => lost.push(i));
    await expect(store.readPieceInto(3, new Uint8Array(meta.pieceSize(3)))).rejects.toMatchObject({
      code: 'NOT_VERIFIED',
    });
    expect(store.have.get(3)).toBe(false);
    expect(lost).toEqual([3]);
    await store.close();
  });
});

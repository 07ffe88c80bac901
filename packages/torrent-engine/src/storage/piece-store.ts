/**
 * Pieces on disk. Every piece is SHA-1-checked before it counts as had, and only had pieces can be
 * read or served. Files live under root/<TorrentFile.path>, or, when seeding in place, at the
 * original contentPath (never moved, never copied). Pad files are never written and read as zeros.
 *
 * Durability (the kill -9 / power-loss argument is in docs/design/storage.md): `have` is set only
 * after a piece's write has completed; flush() snapshots `have`, fsyncs every file written so far,
 * and only then stats the files. A ResumeData therefore claims only pieces whose bytes were durable
 * before the recorded sizes and mtimes were taken, and open() trusts a claimed piece only if all its
 * files still have those sizes and mtimes; anything else is hashed again.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  realpath,
  rmdir,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { dirname } from 'node:path';
import { Bitfield } from '../bitfield.js';
import type { TorrentFile, TorrentMeta } from '../metainfo/index.js';
import type { ResumeData } from '../resume/types.js';
import { StorageError } from './errors.js';
import { FdPool } from './fd-pool.js';
import { Layout, type Segment } from './layout.js';
import { openUnder, resolveUnder } from './safe-path.js';

export interface PieceStoreOptions {
  /** general.output_dir: files are laid out under root/<name>/... */
  root: string;
  /** Seed in place: the file (single-file torrent) or folder the torrent was made from. */
  contentPath?: string;
  /** Trusted only where file sizes and mtimes still match. */
  resume?: ResumeData;
  onProgress?: (checked: number, total: number) => void;
  /** Open file handles kept (LRU). Default 32. */
  maxOpenFiles?: number;
  /** Longest delay between a piece completing and its resume state being flushed. Default 1000 ms. */
  flushIntervalMs?: number;
}

interface FileState {
  size: number;
  mtimeMs: number;
}

/** Largest read() we serve in one call; callers stream in smaller chunks anyway. */
const MAX_READ = 64 * 1024 * 1024;

export interface PieceStoreEvents {
  /** A piece's hash checked; it is readable (isVerified) while it is written. */
  verified: [index: number];
  /** A piece was verified and written. */
  piece: [index: number];
  /** After each flush: fresh, safe resume data to persist. */
  resume: [data: ResumeData];
  /** A had piece's data was found changed on disk (a short read): it is no longer had. */
  lost: [index: number];
  /** A background flush failed (disk full, I/O error); the previous resume data stays valid. */
  error: [err: Error];
  /** The store was closed (the torrent stopped or was removed): no piece will come any more. */
  closed: [];
}

export class PieceStore extends EventEmitter<PieceStoreEvents> {
  readonly have: Bitfield;
  private readonly layout: Layout;
  private readonly pool: FdPool;
  private selected: Set<number> | 'all' = 'all';
  private readonly writing = new Map<number, Promise<'ok' | 'hash-mismatch'>>();
  /**
   * Pieces whose hash checked but whose write has not completed: readable by players (verified
   * bytes are verified bytes), not yet `have` (not durable, not offered to peers, not in resume
   * data). The buffer is the caller's until writePiece resolves; reads copy out of it.
   */
  private readonly verifiedInMemory = new Map<number, Uint8Array>();
  /** Per file: bumped when a write starts and when it ends (see flush, step 5). */
  private readonly writeGen = new Map<number, number>();
  /** Files written since the last flush's snapshot. */
  private touched = new Set<number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<ResumeData> | undefined;
  private last: ResumeData;
  private closed = false;

  private constructor(
    readonly meta: TorrentMeta,
    private readonly opts: PieceStoreOptions,
    /** real path of the root (root mode) or of the content folder (in-place multi-file). */
    private readonly base: string,
    private readonly inPlace: boolean,
  ) {
    super();
    // Every open stream reader waits on 'piece' (a player's connections, 100 range clients in the
    // load test): many listeners are the design here, not a leak.
    this.setMaxListeners(0);
    this.have = new Bitfield(meta.pieceCount);
    this.layout = new Layout(meta);
    this.pool = new FdPool((i, w) => this.openFile(i, w), opts.maxOpenFiles ?? 32);
    this.last = this.buildResume(this.have, []);
  }

  static async open(meta: TorrentMeta, opts: PieceStoreOptions): Promise<PieceStore> {
    let base: string;
    let inPlace = false;
    if (opts.contentPath !== undefined) {
      inPlace = true;
      const single = meta.files.length === 1 && meta.files[0]?.path === meta.name;
      const st = await stat(opts.contentPath).catch(() => undefined);
      if (!st || (single ? !st.isFile() : !st.isDirectory())) {
        throw new StorageError(
          'CONTENT_MISSING',
          `cannot seed in place: ${opts.contentPath} is missing or not a ${single ? 'file' : 'folder'}`,
        );
      }
      base = await realpath(opts.contentPath);
    } else {
      await mkdir(opts.root, { recursive: true });
      base = await realpath(opts.root);
    }
    const store = new PieceStore(meta, opts, base, inPlace);
    store.claimPaths();
    const sel = opts.resume?.selected;
    // A stale selection (indices from another version of the file list) is dropped, not fatal.
    if (sel !== undefined) {
      store.setFileSelection(
        sel === 'all' ? 'all' : sel.filter((i) => Number.isInteger(i) && i >= 0 && i < meta.files.length),
      );
    }
    await store.initialCheck(opts.resume);
    if (!inPlace) await store.createEmptyFiles();
    return store;
  }

  /**
   * Files under the root that an open store may write, by absolute path -> infohash. Two different
   * torrents with the same name in the same root would otherwise write into each other's files,
   * and the first would keep serving pieces it verified before they were overwritten.
   */
  private static readonly claimed = new Map<string, string>();

  private claimPaths(): void {
    if (this.inPlace) return; // originals are read, and only repaired with their own pieces
    const paths = this.meta.files.filter((f) => !f.pad).map((f) => this.filePath(f.index));
    for (const p of paths) {
      const owner = PieceStore.claimed.get(p);
      if (owner !== undefined && owner !== this.meta.infohash) {
        throw new StorageError(
          'IN_USE',
          `${p} already belongs to torrent ${owner}; use another download folder for ${this.meta.infohash}`,
        );
      }
    }
    for (const p of paths) PieceStore.claimed.set(p, this.meta.infohash);
  }

  private releasePaths(): void {
    for (const [p, owner] of PieceStore.claimed) {
      if (owner === this.meta.infohash && p.startsWith(this.base)) PieceStore.claimed.delete(p);
    }
  }

  // ---- selection -------------------------------------------------------------------------------

  get selectedFiles(): number[] | 'all' {
    return this.selected === 'all' ? 'all' : [...this.selected].sort((a, b) => a - b);
  }

  setFileSelection(indices: number[] | 'all'): void {
    if (indices === 'all') {
      this.selected = 'all';
      return;
    }
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.meta.files.length) {
        throw new StorageError('OUT_OF_RANGE', `file index ${i} outside 0..${this.meta.files.length - 1}`);
      }
    }
    this.selected = new Set(indices);
  }

  /** Pieces overlapping selected, non-pad, non-empty files. */
  wantedPieces(): Bitfield {
    const want = new Bitfield(this.meta.pieceCount);
    // Seeding in place: the user's own file is never written to, so nothing is fetched. A piece
    // that no longer verifies (the file was edited after upload) is simply not offered.
    if (this.opts.contentPath !== undefined) return want;
    for (const f of this.meta.files) {
      if (f.pad || (this.selected !== 'all' && !this.selected.has(f.index))) continue;
      const r = this.layout.filePieces(f);
      if (r) for (let p = r.first; p <= r.last; p++) want.set(p);
    }
    return want;
  }

  // ---- writing ---------------------------------------------------------------------------------

  /**
   * Verify, then write the whole piece; `have` is set (and 'piece' emitted) only after the write.
   * Between the two, 'verified' is emitted and the piece is readable from memory (isVerified):
   * measured, the write (a new file's creation, a disk busy with another fsync) delayed the first
   * bytes a player gets by 5-60 ms. Rejects (never throws synchronously) on a closed store, a bad index or a wrong size.
   */
  writePiece(index: number, data: Uint8Array): Promise<'ok' | 'hash-mismatch'> {
    try {
      this.checkOpen();
      this.checkPiece(index);
      const size = this.meta.pieceSize(index);
      if (data.length !== size) {
        throw new StorageError('BAD_PIECE_SIZE', `piece ${index} is ${size} bytes, got ${data.length}`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.have.get(index)) return Promise.resolve('ok');
    if (this.opts.contentPath !== undefined) {
      return Promise.reject(
        new StorageError(
          'IN_PLACE',
          `piece ${index}: a torrent seeded in place never writes to the original file`,
        ),
      );
    }
    const pending = this.writing.get(index);
    if (pending) return pending.then(() => this.writePiece(index, data));
    const p = this.doWrite(index, data).finally(() => this.writing.delete(index));
    this.writing.set(index, p);
    return p;
  }

  private async doWrite(index: number, data: Uint8Array): Promise<'ok' | 'hash-mismatch'> {
    if (!sha1Equals(data, this.meta.pieceHash(index))) return 'hash-mismatch';
    // A player waiting for this piece need not wait for the disk (see isVerified / read).
    this.verifiedInMemory.set(index, data);
    this.emit('verified', index);
    try {
      await this.writeSegments(index, data);
    } finally {
      this.verifiedInMemory.delete(index);
    }
    if (this.closed) return 'ok';
    this.have.set(index);
    this.emit('piece', index);
    this.scheduleFlush();
    return 'ok';
  }

  private async writeSegments(index: number, data: Uint8Array): Promise<void> {
    const segments = this.layout.pieceSegments(index).filter((s) => !s.file.pad);
    await Promise.all(
      segments.map(async (s) => {
        this.bumpWriteGen(s.file.index);
        this.touched.add(s.file.index);
        try {
          await this.pool.with(s.file.index, true, (h) =>
            writeFully(h, data.subarray(s.rangeOffset, s.rangeOffset + s.length), s.fileOffset),
          );
        } finally {
          this.bumpWriteGen(s.file.index);
        }
      }),
    );
  }

  /**
   * The piece's bytes are verified and readable: on disk (`have`), or hash-checked and still being
   * written. What a player may be sent; peers and resume data go by `have` alone.
   */
  isVerified(index: number): boolean {
    return this.have.get(index) || this.verifiedInMemory.has(index);
  }

  /**
   * Create and size the file at `fileIndex` now and keep its handle open for writing, if it is
   * selected and still missing pieces. Creating a file is a metadata change that waits behind any
   * fsync in progress on the same filesystem (the resume data is fsynced when a torrent is added):
   * measured here, 25-35 ms that the first verified piece, the one a player waits for, spent
   * waiting for its file to exist. Done early, that wait overlaps dialling the first peers.
   * Resolves to whether a file was opened; never rejects (a failure shows again on the real write).
   */
  async prepareFile(fileIndex: number): Promise<boolean> {
    const f = this.meta.files[fileIndex];
    if (this.closed || this.inPlace || !f || f.pad || f.length === 0) return false;
    if (this.selected !== 'all' && !this.selected.has(fileIndex)) return false;
    const r = this.layout.filePieces(f);
    if (!r) return false;
    let missing = false;
    for (let p = r.first; p <= r.last && !missing; p++) missing = !this.have.get(p);
    if (!missing) return false;
    try {
      await this.pool.with(fileIndex, true, async () => undefined);
      return true;
    } catch {
      return false;
    }
  }

  /** prepareFile for the file holding byte `offset` of the torrent (a reader's start). */
  prepareFileAt(offset: number): Promise<boolean> {
    if (!(offset >= 0 && offset < this.meta.length)) return Promise.resolve(false);
    const segment = this.layout.segments(offset, 1)[0];
    return segment ? this.prepareFile(segment.file.index) : Promise.resolve(false);
  }

  // ---- reading ---------------------------------------------------------------------------------

  /**
   * `into.length` bytes of a verified piece from byte `begin` of it (the whole piece by default), for
   * memory that is reused: every byte is overwritten, pad files' with zeros.
   */
  async readPieceInto(index: number, into: Uint8Array, begin = 0): Promise<void> {
    this.checkOpen();
    this.checkPiece(index);
    const size = this.meta.pieceSize(index);
    if (!Number.isInteger(begin) || begin < 0 || begin + into.length > size)
      throw new StorageError(
        'OUT_OF_RANGE',
        `${into.length} bytes from byte ${begin} of piece ${index}, which has ${size}`,
      );
    if (!this.have.get(index)) throw new StorageError('NOT_VERIFIED', `piece ${index} is not verified`);
    await this.readRange(index * this.meta.pieceLength + begin, into.length, into);
  }

  /** File-relative read; every byte must belong to a verified piece. */
  async read(fileIndex: number, offset: number, length: number): Promise<Uint8Array> {
    this.checkOpen();
    const f = this.meta.files[fileIndex];
    if (!f)
      throw new StorageError(
        'OUT_OF_RANGE',
        `file index ${fileIndex} outside 0..${this.meta.files.length - 1}`,
      );
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > f.length ||
      length > MAX_READ
    ) {
      throw new StorageError(
        'OUT_OF_RANGE',
        `range ${offset}+${length} outside file ${fileIndex} of ${f.length} bytes`,
      );
    }
    if (length === 0) return new Uint8Array(0);
    const start = f.offset + offset;
    const first = Math.floor(start / this.meta.pieceLength);
    const last = Math.floor((start + length - 1) / this.meta.pieceLength);
    const inMemory = first === last && !this.have.get(first) ? this.verifiedInMemory.get(first) : undefined;
    if (inMemory) {
      // A copy: the buffer goes back to the engine's pool once its write completes.
      const from = start - first * this.meta.pieceLength;
      return new Uint8Array(inMemory.subarray(from, from + length));
    }
    for (let p = first; p <= last; p++) {
      if (!this.have.get(p)) throw new StorageError('NOT_VERIFIED', `piece ${p} is not verified`);
    }
    return this.readRange(start, length);
  }

  /**
   * Read torrent bytes from verified pieces. A short read means a file shrank behind our back: the
   * affected pieces are no longer had, and we refuse rather than serve zeros as data.
   */
  private async readRange(start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const buf = into ?? new Uint8Array(length);
    const complete = await this.fill(buf, start);
    if (!complete) {
      const first = Math.floor(start / this.meta.pieceLength);
      const last = Math.floor((start + length - 1) / this.meta.pieceLength);
      for (let p = first; p <= last; p++) {
        if (!this.have.get(p)) continue;
        this.have.set(p, false);
        this.emit('lost', p);
      }
      throw new StorageError(
        'NOT_VERIFIED',
        `data of pieces ${first}-${last} changed on disk; they will be fetched again`,
      );
    }
    return buf;
  }

  /**
   * Fill `buf` with torrent bytes from `start`, pad files' as zeros written (`buf` may be reused
   * memory). False when a file is short or missing.
   */
  private async fill(buf: Uint8Array, start: number): Promise<boolean> {
    const segments = this.layout.segments(start, buf.length);
    for (const s of segments) if (s.file.pad) buf.fill(0, s.rangeOffset, s.rangeOffset + s.length);
    const reads = segments.filter((s) => !s.file.pad).map((s) => this.readSegment(buf, s));
    return (await Promise.all(reads)).every(Boolean);
  }

  private async readSegment(buf: Uint8Array, s: Segment): Promise<boolean> {
    try {
      return await this.pool.with(s.file.index, false, async (h) => {
        let done = 0;
        while (done < s.length) {
          const { bytesRead } = await h.read(buf, s.rangeOffset + done, s.length - done, s.fileOffset + done);
          if (bytesRead === 0) return false;
          done += bytesRead;
        }
        return true;
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  // ---- progress, checking ----------------------------------------------------------------------

  fileProgress(): { index: number; bytes: number; total: number }[] {
    const pl = this.meta.pieceLength;
    return this.meta.files.map((f) => {
      let bytes = 0;
      const r = this.layout.filePieces(f);
      if (r) {
        for (let p = r.first; p <= r.last; p++) {
          if (!this.have.get(p)) continue;
          const a = Math.max(p * pl, f.offset);
          const b = Math.min(p * pl + this.meta.pieceSize(p), f.offset + f.length);
          bytes += b - a;
        }
      }
      return { index: f.index, bytes, total: f.length };
    });
  }

  /** Hash every piece whose data is on disk again; `have` becomes exactly what verifies. */
  async recheck(): Promise<void> {
    this.checkOpen();
    await Promise.allSettled([...this.writing.values()]);
    await this.initialCheck(undefined);
    await this.flush();
  }

  private async initialCheck(resume: ResumeData | undefined): Promise<void> {
    const states = await this.statFiles();
    const trusted = this.trustedHave(resume, states);
    const total = this.meta.pieceCount;
    const buf = new Uint8Array(this.meta.pieceLength);
    for (let p = 0; p < total; p++) {
      const segments = this.layout.pieceSegments(p).filter((s) => !s.file.pad);
      const present = segments.every((s) => (states[s.file.index]?.size ?? -1) >= s.fileOffset + s.length);
      let ok = false;
      if (!present) ok = false;
      else if (trusted && segments.every((s) => trusted.matches[s.file.index])) ok = trusted.have.get(p);
      else {
        const size = this.meta.pieceSize(p);
        const view = buf.subarray(0, size); // reused: fill() writes every byte, pads as zeros
        ok = (await this.fill(view, p * this.meta.pieceLength)) && sha1Equals(view, this.meta.pieceHash(p));
      }
      this.have.set(p, ok);
      this.opts.onProgress?.(p + 1, total);
    }
    this.last = this.buildResume(this.have.clone(), states);
  }

  /**
   * The resume bitfield, and for each file whether it still has the recorded size and mtime.
   * Resume data for another torrent or another location is ignored entirely.
   */
  private trustedHave(
    resume: ResumeData | undefined,
    states: (FileState | undefined)[],
  ): { have: Bitfield; matches: boolean[] } | undefined {
    if (!resume || resume.infohash !== this.meta.infohash) return undefined;
    if ((resume.contentPath ?? undefined) !== (this.opts.contentPath ?? undefined)) return undefined;
    if (!this.inPlace && resume.root !== this.opts.root) return undefined;
    let have: Bitfield;
    try {
      have = Bitfield.fromBytes(this.meta.pieceCount, Buffer.from(resume.have, 'base64'));
    } catch {
      return undefined;
    }
    const recorded = new Map(resume.files.map((f) => [f.path, f]));
    const matches = this.meta.files.map((f, i) => {
      const r = recorded.get(f.path);
      const s = states[i];
      return !!r && !!s && r.size === s.size && r.mtimeMs === s.mtimeMs;
    });
    return { have, matches };
  }

  // ---- resume ----------------------------------------------------------------------------------

  /** The resume data as of the last flush (safe to persist at any time). */
  resumeData(): ResumeData {
    return { ...this.last, selected: this.selectedFiles };
  }

  /**
   * Make everything written so far durable and return resume data describing it: snapshot `have`,
   * fsync the files, then stat them (see the class comment for why in this order).
   */
  flush(): Promise<ResumeData> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const run = async (): Promise<ResumeData> => {
      // 1. what is had now; which files saw writes since the last flush; write activity so far.
      const snapshot = this.have.clone();
      const touched = this.touched;
      this.touched = new Set();
      const gens = new Map(this.writeGen);
      // 2. make the data of every snapshot piece durable.
      await this.pool.syncAll();
      // 3. give written files an mtime no kernel clock tick will produce, so the very next write
      //    (even within the same coarse tick) is guaranteed to change it.
      await Promise.all([...touched].map((i) => this.stampMtime(i)));
      // 4. only now record sizes and mtimes.
      const states = await this.statFiles();
      // 5. a file written to since step 1 may have an mtime that already includes writes of pieces
      //    outside the snapshot: record it as never matching, so reopening re-hashes it.
      for (const [i, gen] of this.writeGen) {
        const st = states[i];
        if (st && gens.get(i) !== gen) states[i] = { size: st.size, mtimeMs: -1 };
      }
      this.last = this.buildResume(snapshot, states);
      const data = this.resumeData();
      this.emit('resume', data);
      return data;
    };
    const prev = this.flushing;
    const p = (prev ? prev.catch(() => undefined).then(run) : run()).finally(() => {
      if (this.flushing === p) this.flushing = undefined;
    });
    this.flushing = p;
    return p;
  }

  private bumpWriteGen(file: number): void {
    this.writeGen.set(file, (this.writeGen.get(file) ?? 0) + 1);
  }

  /**
   * Set a written file's mtime to now plus a random sub-millisecond offset. Linux updates mtime on
   * write only when it differs from the current coarse clock tick; a write landing in the same tick
   * as our stat would otherwise leave the recorded mtime unchanged and go unnoticed on reopen.
   */
  private async stampMtime(index: number): Promise<void> {
    const path = this.filePath(index);
    const seconds = Date.now() / 1000 + (1 + Math.floor(Math.random() * 997)) / 1e6;
    try {
      if (this.inPlace) await utimes(path, seconds, seconds);
      else await lutimes(path, seconds, seconds);
    } catch {
      // A file deleted behind our back: its stat below records it missing.
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
    }, this.opts.flushIntervalMs ?? 1000);
    this.flushTimer.unref();
  }

  private buildResume(have: Bitfield, states: (FileState | undefined)[]): ResumeData {
    const r = this.opts.resume;
    return {
      infohash: this.meta.infohash,
      torrent: Buffer.from(this.meta.torrent ?? this.meta.info).toString('base64'),
      root: this.opts.root,
      ...(this.opts.contentPath !== undefined ? { contentPath: this.opts.contentPath } : {}),
      have: Buffer.from(have.toBytes()).toString('base64'),
      files: this.meta.files
        .filter((f) => !f.pad)
        .map((f) => ({
          path: f.path,
          size: states[f.index]?.size ?? -1,
          mtimeMs: states[f.index]?.mtimeMs ?? 0,
        })),
      selected: this.selectedFiles,
      paused: r?.paused ?? false,
      addedAt: r?.addedAt ?? new Date().toISOString(),
    };
  }

  // ---- files -----------------------------------------------------------------------------------

  /** Absolute path of a file on disk (in place: inside contentPath). */
  filePath(index: number): string {
    const f = this.meta.files[index];
    if (!f)
      throw new StorageError('OUT_OF_RANGE', `file index ${index} outside 0..${this.meta.files.length - 1}`);
    if (!this.inPlace) return resolveUnder(this.base, f.path);
    if (this.isSingleFile()) return this.base;
    return resolveUnder(this.base, f.path.slice(this.meta.name.length + 1));
  }

  private isSingleFile(): boolean {
    return this.meta.files.length === 1 && this.meta.files[0]?.path === this.meta.name;
  }

  private async openFile(index: number, writable: boolean): Promise<FileHandle> {
    const f = this.meta.files[index] as TorrentFile;
    let h: FileHandle;
    if (this.inPlace) {
      // The user's own tree: symlinks in it are theirs to have; containment is still lexical.
      const path = this.filePath(index);
      if (writable) await mkdir(dirname(path), { recursive: true });
      h = await open(path, writable ? constants.O_RDWR | constants.O_CREAT : constants.O_RDONLY, 0o644);
    } else {
      h = await openUnder(this.base, f.path, writable);
    }
    if (writable) {
      // Sparse pre-allocation: the file has its final size from the first write on.
      const st = await h.stat();
      if (st.size < f.length) await h.truncate(f.length);
    }
    return h;
  }

  private async statFiles(): Promise<(FileState | undefined)[]> {
    return Promise.all(
      this.meta.files.map(async (f) => {
        if (f.pad) return undefined;
        try {
          const path = this.filePath(f.index);
          const st = this.inPlace ? await stat(path) : await lstat(path);
          if (!st.isFile()) return undefined;
          return { size: st.size, mtimeMs: st.mtimeMs };
        } catch {
          return undefined;
        }
      }),
    );
  }

  private async createEmptyFiles(): Promise<void> {
    for (const f of this.meta.files) {
      if (f.pad || f.length !== 0) continue;
      if (this.selected !== 'all' && !this.selected.has(f.index)) continue;
      await this.pool.with(f.index, true, async () => undefined);
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.writing.values()]);
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    // Readers waiting for a piece (a player's stream) would wait forever: the torrent was stopped
    // or removed, and no piece will come.
    this.emit('closed');
    await this.pool.closeAll();
    if (!this.inPlace) this.releasePaths();
  }

  /**
   * Close, then delete the files this torrent has under root (and the folders left empty). Never
   * touches a seeded-in-place original.
   */
  async deleteData(): Promise<void> {
    await this.close();
    if (this.inPlace) return;
    const dirs = new Set<string>();
    for (const f of this.meta.files) {
      if (f.pad) continue;
      const path = resolveUnder(this.base, f.path);
      const st = await lstat(path).catch(() => undefined);
      if (st?.isFile()) await unlink(path).catch(() => undefined);
      for (let d = dirname(path); d.startsWith(this.base) && d !== this.base; d = dirname(d)) dirs.add(d);
    }
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      const entries = await readdir(d).catch(() => undefined);
      if (entries && entries.length === 0) await rmdir(d).catch(() => undefined);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('CLOSED', `storage for ${this.meta.infohash} is closed`);
  }

  private checkPiece(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.meta.pieceCount) {
      throw new StorageError('OUT_OF_RANGE', `piece ${index} outside 0..${this.meta.pieceCount - 1}`);
    }
  }
}

async function writeFully(h: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

function sha1Equals(data: Uint8Array, expected: Uint8Array): boolean {
  const got = createHash('sha1').update(data).digest();
  return got.equals(expected);
}

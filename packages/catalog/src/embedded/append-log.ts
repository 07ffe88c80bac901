/**
 * A durable append-only log of JSON records.
 *
 * File: an 8-byte magic, then records framed as [u32 LE payload length][u32 LE CRC-32 of payload]
 * [payload]. `append` resolves only after the bytes are written *and* fdatasync'ed, so an
 * acknowledged record survives kill -9 and power loss. Appends that arrive while a sync is in flight
 * are written together by the next one (group commit): one fsync serves many writers.
 *
 * Recovery: reading stops at the first record that is short or whose CRC does not match (a write torn
 * by a crash, or zeros a filesystem left after one). The file is truncated there; the dropped bytes
 * are kept beside it in `<file>.dropped-<time>` so nothing is destroyed silently.
 *
 * `rewrite` replaces the whole log (compaction) atomically: temp file, fsync, rename, fsync the
 * directory. It is queued like an append, so it never interleaves with one.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from '../crc32.js';

export const LOG_MAGIC = Buffer.from('DRMCAT1\n', 'ascii');
const HEADER = 8;
/** One record is one entry; an entry's body is bounded well below this by the HTTP body limit. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface Recovered {
  records: unknown[];
  /** Bytes dropped at the end (a torn write), 0 for a clean log. */
  droppedBytes: number;
  droppedFile?: string;
  /** Byte length of each record as framed, parallel to records (for compaction accounting). */
  sizes: number[];
}

export function frame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + payload.length);
  buf.writeUInt32LE(payload.length, 0);
  buf.writeUInt32LE(crc32(payload), 4);
  payload.copy(buf, HEADER);
  return buf;
}

/** Pure: parse a log's bytes; returns the records and the offset where valid data ends. */
export function parseLog(data: Buffer): { records: unknown[]; sizes: number[]; validEnd: number } {
  const records: unknown[] = [];
  const sizes: number[] = [];
  if (data.length < LOG_MAGIC.length || !data.subarray(0, LOG_MAGIC.length).equals(LOG_MAGIC)) {
    throw new Error('not a Dream catalog log (bad magic)');
  }
  let off = LOG_MAGIC.length;
  while (off + HEADER <= data.length) {
    const len = data.readUInt32LE(off);
    const sum = data.readUInt32LE(off + 4);
    if (len === 0 || len > MAX_RECORD_BYTES || off + HEADER + len > data.length) break;
    const payload = data.subarray(off + HEADER, off + HEADER + len);
    if (crc32(payload) !== sum) break;
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      break;
    }
    records.push(value);
    sizes.push(HEADER + len);
    off += HEADER + len;
  }
  return { records, sizes, validEnd: off };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

type Job =
  | { kind: 'append'; buf: Buffer; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'rewrite'; make: () => Buffer[]; resolve: () => void; reject: (e: Error) => void };

export class AppendLog {
  private queue: Job[] = [];
  private running = false;
  private broken: Error | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    /** Current length of the file in bytes. */
    public bytes: number,
  ) {}

  /** Open (creating if absent) and recover the log. */
  static async open(path: string): Promise<{ log: AppendLog; recovered: Recovered }> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      data = Buffer.alloc(0);
    }
    if (data.length === 0) {
      // A new log (or one whose magic never reached the disk): write the magic durably first.
      await writeFile(path, LOG_MAGIC, { mode: 0o600 });
      const fh = await open(path, 'r+');
      await fh.sync();
      await fh.close();
      await fsyncDir(dirname(path));
      data = Buffer.from(LOG_MAGIC);
    }
    const { records, sizes, validEnd } = parseLog(data);
    let droppedFile: string | undefined;
    if (validEnd < data.length) {
      droppedFile = join(dirname(path), `${basename(path)}.dropped-${Date.now()}`);
      await writeFile(droppedFile, data.subarray(validEnd));
      const fh = await open(path, 'r+');
      await fh.truncate(validEnd);
      await fh.sync();
      await fh.close();
    }
    const fh = await open(path, 'a');
    const log = new AppendLog(path, fh, validEnd);
    const recovered: Recovered = { records, sizes, droppedBytes: data.length - validEnd };
    if (droppedFile) recovered.droppedFile = droppedFile;
    return { log, recovered };
  }

  /** Resolves once the record is on disk (written and fdatasync'ed). */
  append(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'append', buf, resolve, reject });
      this.kick();
    });
  }

  /** Replace the log's content with the records `make` returns when the job runs. */
  rewrite(make: () => Buffer[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'rewrite', make, resolve, reject });
      this.kick();
    });
  }

  /** Waits for queued jobs, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.running || this.queue.length > 0) await this.idle();
    await this.fh.close();
  }

  private idlers: (() => void)[] = [];
  private idle(): Promise<void> {
    return new Promise((r) => this.idlers.push(r));
  }

  private kick(): void {
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      if (first.kind === 'rewrite') {
        this.queue.shift();
        await this.settle([first], () => this.doRewrite(first.make()));
        continue;
      }
      let n = 0;
      while (n < this.queue.length && this.queue[n]!.kind === 'append') n++;
      const batch = this.queue.splice(0, n) as Extract<Job, { kind: 'append' }>[];
      await this.settle(batch, () => this.doAppend(Buffer.concat(batch.map((j) => j.buf))));
    }
    this.running = false;
    for (const r of this.idlers.splice(0)) r();
  }

  private async settle(jobs: Job[], work: () => Promise<void>): Promise<void> {
    if (this.broken) {
      for (const j of jobs) j.reject(this.broken);
      return;
    }
    try {
      await work();
      for (const j of jobs) j.resolve();
    } catch (err) {
      for (const j of jobs) j.reject(err as Error);
    }
  }

  private async doAppend(buf: Buffer): Promise<void> {
    const before = this.bytes;
    try {
      let done = 0;
      while (done < buf.length) {
        const { bytesWritten } = await this.fh.write(buf, done, buf.length - done);
        done += bytesWritten;
      }
      await this.fh.datasync();
      this.bytes += buf.length;
    } catch (err) {
      // A half-written batch must not stay in front of later records (recovery would stop at it and
      // drop them): cut the file back. If even that fails, refuse every later write.
      try {
        await this.fh.truncate(before);
      } catch (cut) {
        this.broken = new Error(`catalog log ${this.path} is unusable after a failed write: ${String(cut)}`);
      }
      throw err;
    }
  }

  private async doRewrite(records: Buffer[]): Promise<void> {
    const tmp = `${this.path}.compact`;
    const body = Buffer.concat([LOG_MAGIC, ...records]);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await fsyncDir(dirname(this.path));
    await this.fh.close();
    this.fh = await open(this.path, 'a');
    this.bytes = body.length;
  }
}

/**
 * Resume files: one JSON file per torrent, `<dir>/<infohash>.json`. A save is atomic and durable:
 * write a temporary file, fsync it, rename it over the old one, fsync the directory. After a crash
 * the file is either the old version or the new one, never a mix. Saves of one torrent are
 * serialised and coalesced (the latest data wins), so an older save can never land after a newer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResumeData } from './types.js';

const INFOHASH = /^[0-9a-f]{40}$/;

export class ResumeStore {
  private readonly queues = new Map<string, { tail: Promise<void>; next: ResumeData | undefined }>();

  /** `dir`: general.state_dir + '/torrents'. Created on first save. */
  constructor(readonly dir: string) {}

  save(data: ResumeData): Promise<void> {
    checkInfohash(data.infohash);
    let q = this.queues.get(data.infohash);
    if (!q) {
      q = { tail: Promise.resolve(), next: undefined };
      this.queues.set(data.infohash, q);
    }
    const entry = q;
    const alreadyQueued = entry.next !== undefined;
    entry.next = data; // a save waiting to start writes the newest data
    if (!alreadyQueued) {
      const tail: Promise<void> = entry.tail
        .catch(() => undefined)
        .then(() => {
          const d = entry.next as ResumeData;
          entry.next = undefined;
          return this.write(d);
        })
        .finally(() => {
          if (entry.tail === tail && entry.next === undefined) this.queues.delete(data.infohash);
        });
      entry.tail = tail;
    }
    return entry.tail;
  }

  private async write(data: ResumeData): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const final = this.file(data.infohash);
    const tmp = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const h = await open(tmp, 'w', 0o600);
    try {
      await h.writeFile(`${JSON.stringify(data)}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await rename(tmp, final);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    // The rename itself is only durable once the directory entry is.
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /** The saved data, or undefined when there is none or it is unreadable (then it is ignored). */
  async load(infohash: string): Promise<ResumeData | undefined> {
    checkInfohash(infohash);
    let text: string;
    try {
      text = await readFile(this.file(infohash), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const data: unknown = JSON.parse(text);
      return isResumeData(data) && data.infohash === infohash ? data : undefined;
    } catch {
      return undefined;
    }
  }

  async list(): Promise<ResumeData[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: ResumeData[] = [];
    for (const n of names.sort()) {
      const m = /^([0-9a-f]{40})\.json$/.exec(n);
      if (!m?.[1]) continue;
      const d = await this.load(m[1]);
      if (d) out.push(d);
    }
    return out;
  }

  async remove(infohash: string): Promise<void> {
    checkInfohash(infohash);
    await this.queues.get(infohash)?.tail.catch(() => undefined);
    await unlink(this.file(infohash)).catch((e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    });
  }

  private file(infohash: string): string {
    return join(this.dir, `${infohash}.json`);
  }
}

/** The infohash names a file: anything but 40 lowercase hex could name another path. */
function checkInfohash(infohash: string): void {
  if (!INFOHASH.test(infohash))
    throw new RangeError(`not a 40-hex lowercase infohash: ${JSON.stringify(infohash)}`);
}

export function isResumeData(v: unknown): v is ResumeData {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.infohash === 'string' &&
    typeof d.torrent === 'string' &&
    typeof d.root === 'string' &&
    (d.contentPath === undefined || typeof d.contentPath === 'string') &&
    typeof d.have === 'string' &&
    Array.isArray(d.files) &&
    d.files.every(
      (f: unknown) =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as Record<string, unknown>).path === 'string' &&
        typeof (f as Record<string, unknown>).size === 'number' &&
        typeof (f as Record<string, unknown>).mtimeMs === 'number',
    ) &&
    (d.selected === 'all' || (Array.isArray(d.selected) && d.selected.every((i) => Number.isInteger(i)))) &&
    typeof d.paused === 'boolean' &&
    typeof d.addedAt === 'string'
  );
}

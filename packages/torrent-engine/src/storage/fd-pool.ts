/**
 * A small LRU of open file handles. A torrent may have thousands of files, and a process has a
 * limited number of descriptors shared with sockets; keeping every file open would exhaust them,
 * opening per block would cost a syscall pair per 16 KiB. Handles in use are never closed under
 * their user (reference counted); a read-only handle is upgraded by reopening read-write.
 */
import type { FileHandle } from 'node:fs/promises';

interface Entry {
  handle: FileHandle;
  writable: boolean;
  users: number;
  /** Written since the last fsync: must be synced before it is closed or a flush is reported. */
  dirty: boolean;
}

export type Opener = (key: number, writable: boolean) => Promise<FileHandle>;

export class FdPool {
  private readonly entries = new Map<number, Entry>(); // Map order = LRU order (oldest first)
  private readonly opening = new Map<number, Promise<Entry>>();
  /** Evictions in progress (sync + close): syncAll waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  /** 32: enough for a reader and a writer on a few files each; small next to a 1024 fd limit. */
  constructor(
    private readonly opener: Opener,
    private readonly max = 32,
  ) {}

  /** Run `fn` with a handle for file `key`, opened writable if asked. */
  async with<T>(key: number, writable: boolean, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const entry = await this.acquire(key, writable);
    if (writable) entry.dirty = true;
    try {
      return await fn(entry.handle);
    } finally {
      // Again at the end: a syncAll() that ran while this write was in flight cleared the flag
      // without necessarily covering the write.
      if (writable) entry.dirty = true;
      entry.users--;
      void this.evict();
    }
  }

  /**
   * fsync every handle written since its last sync. Data written before this call is durable when
   * it resolves (handles closed in between were synced on eviction).
   */
  async syncAll(): Promise<void> {
    const dirty = [...this.entries.values()].filter((e) => e.dirty);
    await Promise.all([...this.closing]);
    await Promise.all(
      dirty.map(async (e) => {
        e.users++;
        e.dirty = false;
        try {
          await e.handle.sync();
        } catch (err) {
          e.dirty = true;
          throw err;
        } finally {
          e.users--;
        }
      }),
    );
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.opening.values()]);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled([...this.closing]);
    await Promise.allSettled(all.map((e) => e.handle.close()));
  }

  private async acquire(key: number, writable: boolean): Promise<Entry> {
    for (;;) {
      if (this.closed) throw new Error('file pool closed');
      const pending = this.opening.get(key);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      const e = this.entries.get(key);
      if (e && (e.writable || !writable)) {
        this.entries.delete(key); // move to the most recently used end
        this.entries.set(key, e);
        e.users++;
        return e;
      }
      const p = (async () => {
        if (e) {
          // Upgrade: wait until nobody uses the read-only handle, then reopen.
          while (e.users > 0) await new Promise((r) => setImmediate(r));
          // Unless eviction already took it (and closes it itself).
          if (this.entries.get(key) === e) {
            this.entries.delete(key);
            await e.handle.close().catch(() => undefined);
          }
        }
        if (this.closed) throw new Error('file pool closed');
        const handle = await this.opener(key, writable);
        const entry: Entry = { handle, writable, users: 0, dirty: false };
        this.entries.set(key, entry);
        return entry;
      })();
      this.opening.set(key, p);
      try {
        await p;
      } finally {
        this.opening.delete(key);
      }
    }
  }

  private async evict(): Promise<void> {
    if (this.entries.size <= this.max) return;
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (e.users > 0) continue;
      this.entries.delete(key);
      // A dirty handle is synced before closing so a later syncAll() still covers its writes.
      const p = (async () => {
        if (e.dirty) await e.handle.sync().catch(() => undefined);
        await e.handle.close().catch(() => undefined);
      })();
      this.closing.add(p);
      void p.finally(() => this.closing.delete(p));
    }
  }
}

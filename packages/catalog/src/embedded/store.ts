/**
 * The embedded catalog: every entry in memory (a Map plus the title index), every change in a durable
 * append-only log in `<state_dir>/catalog/`. Opening replays the log; a write resolves only once its
 * record is fsynced, and only then becomes visible to readers. Compaction rewrites the log with the
 * live records when more than half of it is superseded.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@dream/config';
import {
  type CatalogEntry,
  cleanEntry,
  isInfohash,
  type SearchPage,
  type SearchResponse,
  type Tombstone,
} from '../entry.js';
import { clampPage, clampRecent } from '../page.js';
import type { CatalogStore, PutResult } from '../store.js';
import { AppendLog, frame } from './append-log.js';
import { acquireLock } from './lock.js';
import { type IndexHit, TitleIndex } from './title-index.js';
import { topK } from './top-k.js';

type LogRecord = { op: 'put'; e: CatalogEntry } | { op: 'del'; h: string; at?: string };

/** Compact when the log is at least this big and more than half garbage: small logs are not worth it. */
export const COMPACT_MIN_BYTES = 4 * 1024 * 1024;

export interface EmbeddedStoreOptions {
  stateDir: string;
  log?: Logger;
  compactMinBytes?: number;
}

export async function openEmbeddedStore(opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const dir = join(opts.stateDir, 'catalog');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(join(dir, 'catalog.lock'));
  try {
    const { log, recovered } = await AppendLog.open(join(dir, 'catalog.log'));
    const store = new EmbeddedStore(log, release, opts);
    recovered.records.forEach((r, i) => {
      store.apply(r as LogRecord, recovered.sizes[i]!);
    });
    if (recovered.droppedBytes > 0) {
      opts.log?.warn(
        { droppedBytes: recovered.droppedBytes, keptIn: recovered.droppedFile },
        'catalog log ended with an incomplete record (a write interrupted by a crash): dropped it',
      );
    }
    opts.log?.info({ entries: store.count, dir }, 'embedded catalog opened');
    return store;
  } catch (err) {
    await release();
    throw err;
  }
}

export class EmbeddedStore implements CatalogStore {
  private readonly entries = new Map<string, CatalogEntry>();
  private readonly tombstones = new Map<string, string>();
  private readonly index = new TitleIndex();
  /** Framed size of the record holding each live entry (key: infohash) or tombstone (key: deleted:<infohash>). */
  private readonly liveSize = new Map<string, number>();
  private liveBytes = 0;
  private compacting = false;
  private closed = false;

  constructor(
    private readonly log: AppendLog,
    private readonly release: () => Promise<void>,
    private readonly opts: EmbeddedStoreOptions,
  ) {}

  get count(): number {
    return this.entries.size;
  }

  /** Applies one durable record to memory. Returns what a put did. */
  apply(r: LogRecord, size: number): PutResult {
    if (r.op === 'put') {
      const had = this.entries.has(r.e.infohash);
      this.entries.set(r.e.infohash, r.e);
      this.index.set(r.e.infohash, r.e.title);
      this.setLive(r.e.infohash, size);
      return had ? 'updated' : 'created';
    }
    this.entries.delete(r.h);
    this.index.remove(r.h);
    this.setLive(r.h, 0);
    // A tombstone outlives a re-publication (as in Elasticsearch's tombstone index): it only ever
    // refuses writes signed before it, and a later version is newer anyway.
    if (r.at) {
      this.tombstones.set(r.h, r.at);
      this.setLive(`deleted:${r.h}`, size);
    }
    return 'updated';
  }

  private setLive(key: string, size: number): void {
    this.liveBytes += size - (this.liveSize.get(key) ?? 0);
    if (size > 0) this.liveSize.set(key, size);
    else this.liveSize.delete(key);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('catalog store is closed');
  }

  async put(entry: CatalogEntry): Promise<PutResult> {
    const [r] = await this.putMany([entry]);
    return r!;
  }

  async putMany(entries: CatalogEntry[]): Promise<PutResult[]> {
    this.checkOpen();
    for (const e of entries) {
      if (!isInfohash(e.infohash)) throw new Error(`invalid infohash ${JSON.stringify(e.infohash)}`);
    }
    const records = entries.map((e) => ({ op: 'put', e: cleanEntry(e) }) as const);
    const frames = records.map(frame);
    await this.log.append(Buffer.concat(frames));
    const results = records.map((r, i) => this.apply(r, frames[i]!.length));
    this.maybeCompact();
    return results;
  }

  async get(infohash: string): Promise<CatalogEntry | undefined> {
    return this.entries.get(infohash);
  }

  async delete(infohash: string, deletedAt?: string): Promise<boolean> {
    this.checkOpen();
    const existed = this.entries.has(infohash);
    if (!existed && deletedAt === undefined) return false;
    const r: LogRecord =
      deletedAt === undefined ? { op: 'del', h: infohash } : { op: 'del', h: infohash, at: deletedAt };
    const f = frame(r);
    await this.log.append(f);
    // Re-check after the await: a put queued behind ours may not have landed yet, but one ahead has.
    const had = this.entries.has(infohash);
    this.apply(r, f.length);
    this.maybeCompact();
    return had;
  }

  async lastDeleted(infohash: string): Promise<Tombstone | undefined> {
    const at = this.tombstones.get(infohash);
    return at === undefined ? undefined : { infohash, deletedAt: at };
  }

  async search(query: string, page?: SearchPage): Promise<SearchResponse> {
    const { limit, offset } = clampPage(page);
    const hits = this.index.search(query);
    const byRank = (a: IndexHit, b: IndexHit): number => {
      if (a.tier !== b.tier) return b.tier - a.tier;
      if (a.score !== b.score) return b.score - a.score;
      const ea = this.entries.get(a.id)!;
      const eb = this.entries.get(b.id)!;
      if (ea.createdAt !== eb.createdAt) return ea.createdAt < eb.createdAt ? 1 : -1;
      return a.id < b.id ? -1 : 1;
    };
    const ranked = topK(hits, offset + limit, byRank).slice(offset);
    return {
      total: hits.length,
      // Tier first, so the reported score orders like the list does.
      results: ranked.map((h) => ({ entry: this.entries.get(h.id)!, score: h.tier * 1000 + h.score })),
    };
  }

  async recent(limit?: number): Promise<CatalogEntry[]> {
    const n = clampRecent(limit);
    // One pass keeping the n newest in a small sorted array: O(entries × n) worst case, O(entries) typical.
    const top: CatalogEntry[] = [];
    for (const e of this.entries.values()) {
      if (top.length === n && e.createdAt <= top[n - 1]!.createdAt) continue;
      let i = top.length;
      while (i > 0 && top[i - 1]!.createdAt < e.createdAt) i--;
      top.splice(i, 0, e);
      if (top.length > n) top.pop();
    }
    return top;
  }

  /** Rewrites the log with only the live records. Runs in the log's queue, between appends. */
  async compact(): Promise<void> {
    this.checkOpen();
    await this.log.rewrite(() => {
      const frames: Buffer[] = [];
      for (const e of this.entries.values()) frames.push(frame({ op: 'put', e }));
      for (const [h, at] of this.tombstones) frames.push(frame({ op: 'del', h, at }));
      return frames;
    });
  }

  private maybeCompact(): void {
    const min = this.opts.compactMinBytes ?? COMPACT_MIN_BYTES;
    if (this.compacting || this.log.bytes < min || this.log.bytes < 2 * this.liveBytes) return;
    this.compacting = true;
    this.compact()
      .then(() => this.opts.log?.info({ bytes: this.log.bytes }, 'catalog log compacted'))
      .catch((err) => this.opts.log?.error({ err }, 'catalog log compaction failed (the old log is intact)'))
      .finally(() => {
        this.compacting = false;
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
    await this.release();
  }
}

/**
 * The one interface both stores implement, and the factory that picks one from the config.
 * The contract both must honour is test/contract.ts; the HTTP routes add signatures and policy on top.
 */
import type { DreamConfig, Logger } from '@dream/config';
import type { CatalogEntry, SearchPage, SearchResponse, Tombstone } from './entry.js';

export type PutResult = 'created' | 'updated';

export interface CatalogStore {
  /** Insert or replace by infohash (never a duplicate). Resolves once durable. */
  put(entry: CatalogEntry): Promise<PutResult>;
  /** Several puts with one durability barrier (one fsync, one bulk request). */
  putMany(entries: CatalogEntry[]): Promise<PutResult[]>;
  get(infohash: string): Promise<CatalogEntry | undefined>;
  /** Removes the entry; with `deletedAt`, remembers a tombstone (see lastDeleted). */
  delete(infohash: string, deletedAt?: string): Promise<boolean>;
  /** The latest remembered deletion of this infohash, so an older signed write cannot be replayed. */
  lastDeleted(infohash: string): Promise<Tombstone | undefined>;
  /** Ranked, paged title search. An empty or wordless query finds nothing. */
  search(query: string, page?: SearchPage): Promise<SearchResponse>;
  /** Newest first, by createdAt. */
  recent(limit?: number): Promise<CatalogEntry[]>;
  close(): Promise<void>;
}

export async function openCatalogStore(config: DreamConfig, log: Logger): Promise<CatalogStore> {
  if (config.catalog.backend === 'elasticsearch') {
    const { openElasticStore } = await import('./elastic/store.js');
    return openElasticStore({
      node: config.catalog.elasticsearch_url,
      index: config.catalog.elasticsearch_index,
      log,
    });
  }
  const { openEmbeddedStore } = await import('./embedded/store.js');
  return openEmbeddedStore({ stateDir: config.general.state_dir, log });
}

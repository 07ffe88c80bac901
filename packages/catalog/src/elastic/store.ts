/**
 * The Elasticsearch catalog, for bootstrap operators who outgrow one machine. Same contract as the
 * embedded store (test/contract.ts). Writes use refresh=wait_for so a write is searchable when its
 * promise resolves, like the embedded store. Deletions are remembered in `<index>-tombstones`.
 */

import type { Logger } from '@dream/config';
import { Client, errors } from '@elastic/elasticsearch';
import {
  type CatalogEntry,
  cleanEntry,
  isInfohash,
  type SearchPage,
  type SearchResponse,
  type Tombstone,
} from '../entry.js';
import { searchTokens } from '../normalize.js';
import { clampPage, clampRecent } from '../page.js';
import type { CatalogStore, PutResult } from '../store.js';
import { buildElasticQuery, buildRecentQuery, elasticIndexBody, tombstoneIndexBody } from './query.js';

export interface ElasticStoreOptions {
  node: string;
  index: string;
  log?: Logger;
  /** Per-request timeout; Elasticsearch is on the operator's private network, so this can be short. */
  requestTimeoutMs?: number;
}

type Doc = CatalogEntry & { titleNorm: string };

function toDoc(e: CatalogEntry): Doc {
  return { ...cleanEntry(e), titleNorm: searchTokens(e.title).join(' ') };
}

function toEntry(source: unknown): CatalogEntry {
  return cleanEntry(source as CatalogEntry);
}

async function ensureIndex(client: Client, index: string, body: object, log?: Logger): Promise<void> {
  if (await client.indices.exists({ index })) return;
  try {
    await client.indices.create({ index, ...body });
    log?.info({ index }, 'created Elasticsearch index with the catalog mapping');
  } catch (err) {
    // Another catalog service created it between our check and our create: fine.
    if (err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception')
      return;
    throw err;
  }
}

export async function openElasticStore(opts: ElasticStoreOptions): Promise<ElasticStore> {
  const client = new Client({
    node: opts.node,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    maxRetries: 2,
  });
  try {
    await ensureIndex(client, opts.index, elasticIndexBody(), opts.log);
    await ensureIndex(client, `${opts.index}-tombstones`, tombstoneIndexBody(), opts.log);
  } catch (err) {
    await client.close();
    throw new Error(`Elasticsearch at ${opts.node} (index ${opts.index}): ${(err as Error).message}`);
  }
  return new ElasticStore(client, opts.index);
}

export class ElasticStore implements CatalogStore {
  private readonly tombstones: string;

  constructor(
    private readonly client: Client,
    private readonly index: string,
  ) {
    this.tombstones = `${index}-tombstones`;
  }

  async put(entry: CatalogEntry): Promise<PutResult> {
    if (!isInfohash(entry.infohash)) throw new Error(`invalid infohash ${JSON.stringify(entry.infohash)}`);
    const res = await this.client.index({
      index: this.index,
      id: entry.infohash,
      document: toDoc(entry),
      refresh: 'wait_for',
    });
    return res.result === 'created' ? 'created' : 'updated';
  }

  async putMany(entries: CatalogEntry[]): Promise<PutResult[]> {
    if (entries.length === 0) return [];
    for (const e of entries) {
      if (!isInfohash(e.infohash)) throw new Error(`invalid infohash ${JSON.stringify(e.infohash)}`);
    }
    const operations = entries.flatMap((e) => [{ index: { _index: this.index, _id: e.infohash } }, toDoc(e)]);
    const res = await this.client.bulk({ operations, refresh: 'wait_for' });
    const failed = res.items.find((i) => i.index?.error);
    if (failed) throw new Error(`Elasticsearch bulk write failed: ${JSON.stringify(failed.index?.error)}`);
    return res.items.map((i) => (i.index?.result === 'created' ? 'created' : 'updated'));
  }

  async get(infohash: string): Promise<CatalogEntry | undefined> {
    if (!isInfohash(infohash)) return undefined;
    const res = await this.client.get({ index: this.index, id: infohash }, { ignore: [404] });
    return res.found ? toEntry(res._source) : undefined;
  }

  async delete(infohash: string, deletedAt?: string): Promise<boolean> {
    if (!isInfohash(infohash)) return false;
    if (deletedAt !== undefined) {
      await this.client.index({
        index: this.tombstones,
        id: infohash,
        document: { infohash, deletedAt },
        refresh: 'wait_for',
      });
    }
    const res = await this.client.delete(
      { index: this.index, id: infohash, refresh: 'wait_for' },
      { ignore: [404] },
    );
    return res.result === 'deleted';
  }

  async lastDeleted(infohash: string): Promise<Tombstone | undefined> {
    if (!isInfohash(infohash)) return undefined;
    const res = await this.client.get<Tombstone>({ index: this.tombstones, id: infohash }, { ignore: [404] });
    return res.found && res._source ? { infohash, deletedAt: res._source.deletedAt } : undefined;
  }

  async search(query: string, page?: SearchPage): Promise<SearchResponse> {
    const p = clampPage(page);
    const words = searchTokens(query);
    if (words.length === 0) return { total: 0, results: [] };
    let res = await this.client.search<Doc>({ index: this.index, ...buildElasticQuery(query, p, 'and') });
    if (totalOf(res.hits.total) === 0 && words.length > 1) {
      res = await this.client.search<Doc>({ index: this.index, ...buildElasticQuery(query, p, 'or') });
    }
    return {
      total: totalOf(res.hits.total),
      results: res.hits.hits.map((h) => ({ entry: toEntry(h._source), score: h._score ?? 0 })),
    };
  }

  async recent(limit?: number): Promise<CatalogEntry[]> {
    const res = await this.client.search<Doc>({ index: this.index, ...buildRecentQuery(clampRecent(limit)) });
    return res.hits.hits.map((h) => toEntry(h._source));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function totalOf(total: number | { value: number } | undefined): number {
  if (total === undefined) return 0;
  return typeof total === 'number' ? total : total.value;
}

/**
 * The catalog API's client (dream-cli, dream-torrent talking to a bootstrap node). Errors from the
 * server surface as CatalogClientError with the server's code and message.
 */
import type { DreamConfig } from '@dream/config';
import { type CatalogEntry, entryProblem, type SearchPage, type SearchResponse } from './entry.js';
import { type DeleteRequest, verifyEntry } from './signing.js';
import type { PutResult } from './store.js';

export interface CatalogClientOptions {
  /** e.g. http://127.0.0.1:6882/catalog or https://catalog.example.org (no trailing slash needed). */
  baseUrl: string;
  timeoutMs?: number;
  /** Told how many entries of an answer were dropped as malformed or wrongly signed (for a log). */
  onRejected?: (count: number, url: string) => void;
}

/**
 * An entry as the catalog service itself accepts one: well formed, its magnet naming its own
 * infohash, signed by the key it names. A client checks what a server sends: a broken or hostile
 * catalog cannot hand dream-cli or the web UI a magnet that was never published under that title.
 */
export function isAcceptableEntry(e: unknown): e is CatalogEntry {
  if (typeof e !== 'object' || e === null) return false;
  try {
    return entryProblem(e as CatalogEntry) === undefined && verifyEntry(e as CatalogEntry);
  } catch {
    return false;
  }
}

/**
 * Where this node's network catalog is: network.catalog_url, or (empty) this node's own catalog,
 * which dream-torrent serves under /catalog on the stream port.
 */
export function catalogBaseUrl(config: DreamConfig): string {
  return config.network.catalog_url || `http://127.0.0.1:${config.stream.port}/catalog`;
}

export class CatalogClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CatalogClientError';
  }
}

export class CatalogClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly onRejected: CatalogClientOptions['onRejected'];

  constructor(opts: CatalogClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.onRejected = opts.onRejected;
  }

  /** Ranked results; entries that fail isAcceptableEntry are dropped (and `total` lowered by them). */
  async search(q: string, page: SearchPage = {}): Promise<SearchResponse> {
    const params = new URLSearchParams({ q });
    if (page.limit !== undefined) params.set('limit', String(page.limit));
    if (page.offset !== undefined) params.set('offset', String(page.offset));
    const res = await this.call<Partial<SearchResponse> | null>('GET', `/search?${params}`);
    const sent: unknown[] = Array.isArray(res?.results) ? res.results : [];
    const results = this.keep(
      sent,
      (r) => (r as { entry?: unknown } | null)?.entry,
    ) as SearchResponse['results'];
    const total = Number.isSafeInteger(res?.total) ? res!.total! : sent.length;
    return { total: Math.max(results.length, total - (sent.length - results.length)), results };
  }

  async get(infohash: string): Promise<CatalogEntry | undefined> {
    let entry: unknown;
    try {
      entry = await this.call<unknown>('GET', `/entries/${encodeURIComponent(infohash)}`);
    } catch (err) {
      if (err instanceof CatalogClientError && err.code === 'not_found') return undefined;
      throw err;
    }
    if (this.keep([entry], (e) => e).length === 0) {
      throw new CatalogClientError(
        502,
        'bad_entry',
        `catalog ${this.base} sent a malformed or wrongly signed entry`,
      );
    }
    return entry as CatalogEntry;
  }

  /** Publish a signed entry (signEntry). */
  add(entry: CatalogEntry): Promise<{ result: PutResult; infohash: string }> {
    return this.call('PUT', `/entries/${encodeURIComponent(entry.infohash)}`, entry);
  }

  /** Delete with a signed request (signDelete). */
  remove(req: DeleteRequest): Promise<{ deleted: true; infohash: string }> {
    return this.call('DELETE', `/entries/${encodeURIComponent(req.infohash)}`, req);
  }

  /** Newest first; entries that fail isAcceptableEntry are dropped. */
  async recent(limit?: number): Promise<CatalogEntry[]> {
    const q = limit === undefined ? '' : `?limit=${limit}`;
    const res = await this.call<{ entries?: unknown } | null>('GET', `/recent${q}`);
    return this.keep(Array.isArray(res?.entries) ? res.entries : [], (e) => e) as CatalogEntry[];
  }

  private keep(items: unknown[], entryOf: (item: unknown) => unknown): unknown[] {
    const kept = items.filter((item) => isAcceptableEntry(entryOf(item)));
    if (kept.length < items.length) this.onRejected?.(items.length - kept.length, this.base);
    return kept;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new CatalogClientError(
        0,
        'unreachable',
        `catalog ${this.base} unreachable: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new CatalogClientError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? `catalog ${method} ${path} answered ${res.status}`,
      );
    }
    return json as T;
  }
}

/**
 * The catalog API's client (dream-cli, dream-torrent talking to a bootstrap node). Errors from the
 * server surface as CatalogClientError with the server's code and message.
 */
import type { DreamConfig } from '@dream/config';
import type { CatalogEntry, SearchPage, SearchResponse } from './entry.js';
import type { DeleteRequest } from './signing.js';
import type { PutResult } from './store.js';

export interface CatalogClientOptions {
  /** e.g. http://127.0.0.1:6882/catalog or https://catalog.example.org (no trailing slash needed). */
  baseUrl: string;
  timeoutMs?: number;
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

  constructor(opts: CatalogClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  search(q: string, page: SearchPage = {}): Promise<SearchResponse> {
    const params = new URLSearchParams({ q });
    if (page.limit !== undefined) params.set('limit', String(page.limit));
    if (page.offset !== undefined) params.set('offset', String(page.offset));
    return this.call('GET', `/search?${params}`);
  }

  async get(infohash: string): Promise<CatalogEntry | undefined> {
    try {
      return await this.call<CatalogEntry>('GET', `/entries/${encodeURIComponent(infohash)}`);
    } catch (err) {
      if (err instanceof CatalogClientError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  /** Publish a signed entry (signEntry). */
  add(entry: CatalogEntry): Promise<{ result: PutResult; infohash: string }> {
    return this.call('PUT', `/entries/${encodeURIComponent(entry.infohash)}`, entry);
  }

  /** Delete with a signed request (signDelete). */
  remove(req: DeleteRequest): Promise<{ deleted: true; infohash: string }> {
    return this.call('DELETE', `/entries/${encodeURIComponent(req.infohash)}`, req);
  }

  async recent(limit?: number): Promise<CatalogEntry[]> {
    const q = limit === undefined ? '' : `?limit=${limit}`;
    const res = await this.call<{ entries: CatalogEntry[] }>('GET', `/recent${q}`);
    return res.entries;
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

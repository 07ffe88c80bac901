/**
 * dream-torrent's control API as dream-cli uses it (127.0.0.1 only). A refused connection becomes
 * "dream-torrent is not running" with how to start it; an API error keeps its code and message.
 */
import type { DreamConfig } from '@dream/config';
import { localApiBase } from './daemons.js';
import { CliError, EXIT } from './errors.js';
import { errorOf, type HttpAnswer, HttpUnreachable, httpText } from './http.js';

export interface TorrentSummary {
  infohash: string;
  name: string | undefined;
  state: string;
  error: string | undefined;
  length: number | undefined;
  progress: number;
  downloaded: number;
  uploaded: number;
  downloadRate: number;
  uploadRate: number;
  peers: number;
}

export interface TorrentDetail extends TorrentSummary {
  files: { index: number; path: string; length: number; bytes: number; selected: boolean; pad: boolean }[];
  peerList: { address: string; downloadRate: number; uploadRate: number }[];
}

export interface FileListing {
  infohash: string;
  name: string | undefined;
  files: { index: number; path: string; size: number; type: string; url: string }[];
}

export class EngineApi {
  readonly base: string;
  constructor(config: DreamConfig) {
    this.base = localApiBase(config);
  }

  health(): Promise<{ ok: boolean; torrents: number; connections: number; port: number }> {
    return this.call('GET', '/api/health');
  }
  add(body: Record<string, unknown>): Promise<TorrentSummary> {
    return this.call('POST', '/api/torrents', body);
  }
  addPeers(infohash: string, peers: string[]): Promise<{ added: number }> {
    return this.call('POST', `/api/torrents/${infohash}/peers`, { peers });
  }
  list(): Promise<{ torrents: TorrentSummary[] }> {
    return this.call('GET', '/api/torrents');
  }
  detail(infohash: string): Promise<TorrentDetail> {
    return this.call('GET', `/api/torrents/${infohash}`);
  }
  remove(infohash: string, deleteData: boolean): Promise<void> {
    return this.call('DELETE', `/api/torrents/${infohash}?deleteData=${deleteData}`);
  }
  resume(infohash: string): Promise<TorrentSummary> {
    return this.call('POST', `/api/torrents/${infohash}/resume`);
  }
  /** Which files the engine fetches, by path (the engine maps paths to its indices). */
  selectPaths(infohash: string, paths: readonly string[]): Promise<TorrentDetail> {
    return this.call('PUT', `/api/torrents/${infohash}/files`, { paths });
  }
  files(infohash: string): Promise<FileListing> {
    return this.call('GET', `/stream/${infohash}/`);
  }

  async call<T>(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
    let res: HttpAnswer;
    try {
      res = await httpText(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs,
      });
    } catch (err) {
      const code = err instanceof HttpUnreachable ? err.code : undefined;
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET')
        throw CliError.daemonDown('dream-torrent', this.base);
      throw new CliError(
        'ENGINE_UNREACHABLE',
        `dream-torrent at ${this.base} did not answer: ${(err as Error).message}`,
        EXIT.daemonDown,
      );
    }
    if (res.status < 200 || res.status > 299) {
      const e = errorOf(res.body);
      throw new CliError(
        `ENGINE_${(e?.code ?? String(res.status)).toUpperCase().replace(/-/g, '_')}`,
        `dream-torrent refused ${method} ${path}: ${e?.message ?? res.statusText}`,
        EXIT.unexpected,
      );
    }
    return (res.body ? JSON.parse(res.body) : undefined) as T;
  }
}

/**
 * HTTP(S) tracker announce: BEP 3, compact peers (BEP 23), IPv6 peers (BEP 7 `peers6`).
 * The request carries info_hash and peer_id percent-encoded byte by byte (they are raw bytes, not
 * text). The response is read with a size cap and a whole-request deadline, then decoded with the
 * bounded decoder: a tracker cannot make us buffer or parse without limit.
 */
import http from 'node:http';
import https from 'node:https';
import {
  type AnnounceOptions,
  type AnnounceRequest,
  type AnnounceResponse,
  MAX_PEERS_PER_RESPONSE,
} from './announce.js';
import { type BValue, bdecode, getBytes, getInt, getString, isDict } from './bdecode.js';
import { SourceError } from './errors.js';
import { normalizePeer, parseCompactV4, parseCompactV6 } from './peers.js';
import type { PeerAddress } from './types.js';

/** 1 MiB: a compact response for 200 peers is ~1.3 KiB; even non-compact ones stay far below. */
export const HTTP_MAX_RESPONSE_BYTES = 1 << 20;
export const HTTP_DEFAULT_TIMEOUT_MS = 15_000;
/** Trackers behind load balancers redirect (http to https, moved hosts); more than 3 hops is a loop. */
const MAX_REDIRECTS = 3;

export interface HttpAnnounceOptions extends AnnounceOptions {
  maxResponseBytes?: number;
}

/** Percent-encodes every byte except RFC 3986 unreserved characters, as trackers expect. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f ||
      b === 0x7e;
    s += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

export function buildAnnounceUrl(announceUrl: string, req: AnnounceRequest): string {
  const params = [
    `info_hash=${percentEncodeBytes(req.infohash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${Math.max(0, Math.floor(req.uploaded))}`,
    `downloaded=${Math.max(0, Math.floor(req.downloaded))}`,
    `left=${Math.max(0, Math.floor(req.left))}`,
    'compact=1',
    `numwant=${req.numwant}`,
    `key=${(req.key >>> 0).toString(16).padStart(8, '0')}`,
  ];
  if (req.event) params.push(`event=${req.event}`);
  if (req.trackerId !== undefined) params.push(`trackerid=${encodeURIComponent(req.trackerId)}`);
  // The announce URL may carry its own query (passkeys); ours is appended to it. A fragment is dropped.
  const base = announceUrl.split('#')[0]!;
  return `${base}${base.includes('?') ? '&' : '?'}${params.join('&')}`;
}

/** Parses a bencoded announce response. Throws SourceError (TRACKER_FAILURE, TRACKER_BAD_RESPONSE). */
export function parseHttpAnnounceResponse(body: Uint8Array): AnnounceResponse {
  let root: BValue;
  try {
    root = bdecode(body, { maxBytes: Math.max(body.length, 1) });
  } catch (err) {
    throw new SourceError(
      'TRACKER_BAD_RESPONSE',
      `tracker response is not bencode: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!isDict(root)) throw new SourceError('TRACKER_BAD_RESPONSE', 'tracker response is not a dictionary');
  const failure = getString(root, 'failure reason');
  if (failure !== undefined) {
    throw new SourceError('TRACKER_FAILURE', `tracker refused the announce: ${failure.slice(0, 300)}`);
  }
  const interval = getInt(root, 'interval');
  if (interval === undefined) {
    throw new SourceError('TRACKER_BAD_RESPONSE', 'tracker response has no integer "interval"');
  }
  const peers: PeerAddress[] = [];
  const raw = root.peers;
  if (raw instanceof Uint8Array) {
    peers.push(...parseCompactV4(raw, MAX_PEERS_PER_RESPONSE));
  } else if (Array.isArray(raw)) {
    for (const entry of raw.slice(0, MAX_PEERS_PER_RESPONSE)) {
      if (!isDict(entry)) continue;
      const p = normalizePeer({ host: getString(entry, 'ip'), port: getInt(entry, 'port') });
      if (p) peers.push(p);
    }
  } else if (raw !== undefined) {
    throw new SourceError('TRACKER_BAD_RESPONSE', 'tracker response "peers" is neither a string nor a list');
  }
  const peers6 = getBytes(root, 'peers6');
  if (peers6) peers.push(...parseCompactV6(peers6, MAX_PEERS_PER_RESPONSE - peers.length));

  const res: AnnounceResponse = { peers, interval };
  const minInterval = getInt(root, 'min interval');
  if (minInterval !== undefined) res.minInterval = minInterval;
  const trackerId = getString(root, 'tracker id');
  if (trackerId !== undefined) res.trackerId = trackerId;
  const complete = getInt(root, 'complete');
  if (complete !== undefined) res.complete = complete;
  const incomplete = getInt(root, 'incomplete');
  if (incomplete !== undefined) res.incomplete = incomplete;
  const warning = getString(root, 'warning message');
  if (warning !== undefined) res.warning = warning.slice(0, 300);
  return res;
}

/** Announces to an http: or https: tracker. Rejects with a SourceError; never hangs past timeoutMs. */
export async function httpAnnounce(
  announceUrl: string,
  req: AnnounceRequest,
  opts: HttpAnnounceOptions = {},
): Promise<AnnounceResponse> {
  const body = await httpGet(
    buildAnnounceUrl(announceUrl, req),
    opts.timeoutMs ?? HTTP_DEFAULT_TIMEOUT_MS,
    opts.maxResponseBytes ?? HTTP_MAX_RESPONSE_BYTES,
    opts.signal,
  );
  return parseHttpAnnounceResponse(body);
}

function httpGet(
  url: string,
  timeoutMs: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let done = false;
    let current: http.ClientRequest | undefined;
    const finish = (err: Error | undefined, body?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      current?.destroy();
      if (err) reject(err);
      else resolve(body!);
    };
    const timer = setTimeout(
      () => finish(new SourceError('TRACKER_TIMEOUT', `tracker did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => finish(new SourceError('TRACKER_ABORTED', 'announce cancelled'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const get = (target: string, hops: number) => {
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        return finish(new SourceError('TRACKER_URL_UNSUPPORTED', `malformed tracker URL "${target}"`));
      }
      const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
      if (!mod) {
        return finish(
          new SourceError('TRACKER_URL_UNSUPPORTED', `unsupported tracker URL scheme "${u.protocol}"`),
        );
      }
      // agent: false = a fresh connection per announce. Announces are minutes apart, and Node 20's
      // keep-alive agent would reuse a socket the tracker has already closed (opentracker does): ECONNRESET.
      const headers = { 'user-agent': 'Dream/0.1', 'accept-encoding': 'identity' };
      const r = mod.get(u, { headers, agent: false }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && hops < MAX_REDIRECTS) {
          res.resume();
          return get(new URL(res.headers.location, u).toString(), hops + 1);
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return finish(new SourceError('TRACKER_HTTP_STATUS', `tracker answered HTTP ${status}`));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          return finish(
            new SourceError(
              'TRACKER_RESPONSE_TOO_LARGE',
              `tracker response of ${declared} bytes exceeds ${maxBytes}`,
            ),
          );
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > maxBytes) {
            finish(
              new SourceError('TRACKER_RESPONSE_TOO_LARGE', `tracker response exceeds ${maxBytes} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, Buffer.concat(chunks)));
        res.on('error', (err) => finish(networkError(err)));
        // A server that hangs up mid-body gives 'close' without 'end'.
        res.on('close', () => {
          if (!res.complete)
            finish(new SourceError('TRACKER_NETWORK', 'tracker closed the connection mid-response'));
        });
      });
      current = r;
      r.on('error', (err) => finish(networkError(err)));
    };
    get(url, 0);
  });
}

function networkError(err: Error): SourceError {
  const code = (err as NodeJS.ErrnoException).code;
  return new SourceError('TRACKER_NETWORK', `tracker connection failed: ${code ?? err.message}`, {
    cause: err,
  });
}

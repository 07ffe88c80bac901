/**
 * UDP tracker announce (BEP 15): connect, then announce, over one socket per announce.
 *
 * - Each request is retransmitted after base x 2^n (BEP 15: 15 s x 2^n, n up to 8, i.e. an hour).
 *   We stop after `maxRetransmits` (2 by default: 15 + 30 + 60 s) and let the tracker source's own
 *   back-off retry later: a dead tracker then costs one small timer, not an hour-long pending
 *   announce, and the next attempt starts with a fresh connection id anyway.
 * - A connection id is used only within a minute of receiving it (BEP 15); past that we connect again.
 * - Replies must come from the tracker's address and carry our transaction id; other datagrams are
 *   ignored (stale replies to an earlier retransmission, spoofing). A reply with our id that is
 *   malformed fails the announce with a precise error: a confused tracker will not become sane.
 * - An IPv6 tracker (the socket is udp6) answers with 18-byte peers (BEP 15, "IPv6").
 * - A fresh socket per announce: nothing stays open between announces (announces are minutes
 *   apart; a connect costs one round trip), and no reply can be confused with another torrent's.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import {
  type AnnounceOptions,
  type AnnounceRequest,
  type AnnounceResponse,
  MAX_PEERS_PER_RESPONSE,
} from './announce.js';
import { SourceError } from './errors.js';
import { parseCompactV4, parseCompactV6 } from './peers.js';

export const UDP_PROTOCOL_ID = 0x41727101980n;
export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const EVENT_CODE = { none: 0, completed: 1, started: 2, stopped: 3 } as const;
/** BEP 15: a client may use a connection id until one minute after receiving it. */
export const CONNECTION_ID_TTL_MS = 60_000;

export interface UdpAnnounceOptions extends AnnounceOptions {
  /** First retransmission timeout; BEP 15 says 15 s. Tests pass a few ms. */
  baseTimeoutMs?: number;
  /** Retransmissions of each request after the first send. */
  maxRetransmits?: number;
  /** For tests: where "now" comes from (connection id ageing). */
  now?: () => number;
}

export function buildConnectRequest(tid: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION.connect, 8);
  b.writeUInt32BE(tid >>> 0, 12);
  return b;
}

/**
 * BEP 41: the URL's path and query ("/announce?passkey=...") ride after the announce as URLData
 * options of at most 255 bytes each, then EndOfOptions. Trackers that do not know BEP 41 ignore the
 * extra bytes (the BEP's design); without them, a UDP tracker keyed by path could not tell torrents
 * or users apart. Capped at 1 KiB so a silly URL cannot make an oversized datagram.
 */
export function urlDataOptions(pathAndQuery: string): Buffer {
  const data = Buffer.from(pathAndQuery, 'utf8').subarray(0, 1024);
  if (data.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const chunk = data.subarray(i, i + 255);
    parts.push(Buffer.from([0x02, chunk.length]), chunk);
  }
  parts.push(Buffer.from([0x00]));
  return Buffer.concat(parts);
}

export function buildAnnounceRequest(
  connectionId: Buffer,
  tid: number,
  req: AnnounceRequest,
  options: Buffer = Buffer.alloc(0),
): Buffer {
  const b = Buffer.alloc(98 + options.length);
  options.copy(b, 98);
  connectionId.copy(b, 0, 0, 8);
  b.writeUInt32BE(ACTION.announce, 8);
  b.writeUInt32BE(tid >>> 0, 12);
  b.set(req.infohash, 16);
  b.set(req.peerId, 36);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.downloaded))), 56);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.left))), 64);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.uploaded))), 72);
  b.writeUInt32BE(EVENT_CODE[req.event ?? 'none'], 80);
  b.writeUInt32BE(0, 84); // IP: 0 = the sender's address
  b.writeUInt32BE(req.key >>> 0, 88);
  b.writeInt32BE(req.numwant, 92);
  b.writeUInt16BE(req.port, 96);
  return b;
}

/** Parses an announce reply (action already checked). `ipv6` selects 18-byte peers. */
export function parseUdpAnnounceResponse(msg: Buffer, ipv6: boolean): AnnounceResponse {
  if (msg.length < 20) {
    throw new SourceError(
      'TRACKER_BAD_RESPONSE',
      `UDP announce reply of ${msg.length} bytes is shorter than 20`,
    );
  }
  const body = msg.subarray(20);
  return {
    interval: msg.readUInt32BE(8),
    incomplete: msg.readUInt32BE(12),
    complete: msg.readUInt32BE(16),
    peers: ipv6 ? parseCompactV6(body, MAX_PEERS_PER_RESPONSE) : parseCompactV4(body, MAX_PEERS_PER_RESPONSE),
  };
}

export async function udpAnnounce(
  announceUrl: string,
  req: AnnounceRequest,
  opts: UdpAnnounceOptions = {},
): Promise<AnnounceResponse> {
  let u: URL;
  try {
    u = new URL(announceUrl);
  } catch {
    throw new SourceError('TRACKER_URL_UNSUPPORTED', `malformed tracker URL "${announceUrl}"`);
  }
  const port = Number(u.port);
  if (u.protocol !== 'udp:' || !u.hostname || !(port >= 1 && port <= 65535)) {
    throw new SourceError(
      'TRACKER_URL_UNSUPPORTED',
      `UDP tracker URL needs udp://host:port, got "${announceUrl}"`,
    );
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const pathAndQuery = `${u.pathname === '/' ? '' : u.pathname}${u.search}`;
  const options = urlDataOptions(pathAndQuery);
  const now = opts.now ?? Date.now;
  const session = new UdpSession(opts);
  try {
    let address: { address: string; family: number };
    try {
      address = await session.race(lookup(host, { verbatim: true }));
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError(
        'TRACKER_NETWORK',
        `cannot resolve tracker host "${host}": ${(err as Error).message}`,
      );
    }
    const ipv6 = address.family === 6;
    await session.open(ipv6 ? 'udp6' : 'udp4', address.address, port);

    let connectionId: Buffer | undefined;
    let connectedAt = 0;
    const connect = async () => {
      const reply = await session.transact((tid) => buildConnectRequest(tid), ACTION.connect, 16);
      connectionId = Buffer.from(reply.subarray(8, 16));
      connectedAt = now();
    };
    await connect();
    // Retransmissions of the announce may outlive the connection id: reconnect before each send if so.
    const reply = await session.transact(
      (tid) => buildAnnounceRequest(connectionId!, tid, req, options),
      ACTION.announce,
      20,
      async () => {
        if (now() - connectedAt >= CONNECTION_ID_TTL_MS) await connect();
      },
    );
    return parseUdpAnnounceResponse(reply, ipv6);
  } finally {
    session.close();
  }
}

/** One socket, one tracker address, one request at a time, with the deadline and abort signal. */
class UdpSession {
  private socket: dgram.Socket | undefined;
  private remote = { address: '', port: 0 };
  private readonly deadline: Promise<never>;
  private cleanup: (() => void)[] = [];
  private readonly baseTimeoutMs: number;
  private readonly maxRetransmits: number;

  constructor(opts: UdpAnnounceOptions) {
    this.baseTimeoutMs = opts.baseTimeoutMs ?? 15_000;
    this.maxRetransmits = opts.maxRetransmits ?? 2;
    this.deadline = new Promise<never>((_, reject) => {
      if (opts.timeoutMs !== undefined) {
        const t = setTimeout(
          () =>
            reject(
              new SourceError('TRACKER_TIMEOUT', `UDP tracker did not answer within ${opts.timeoutMs} ms`),
            ),
          opts.timeoutMs,
        );
        this.cleanup.push(() => clearTimeout(t));
      }
      const signal = opts.signal;
      if (signal) {
        const onAbort = () => reject(new SourceError('TRACKER_ABORTED', 'announce cancelled'));
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.cleanup.push(() => signal.removeEventListener('abort', onAbort));
      }
    });
    this.deadline.catch(() => {}); // observed through race(); never an unhandled rejection
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.deadline]);
  }

  async open(type: 'udp4' | 'udp6', address: string, port: number): Promise<void> {
    const socket = dgram.createSocket({ type });
    this.socket = socket;
    this.remote = { address, port };
    socket.on('error', () => {}); // errors surface as timeouts of the pending request
    await this.race(new Promise<void>((resolve) => socket.bind(0, resolve)));
  }

  /**
   * Sends `build(tid)` until a datagram from the tracker carries the same transaction id, then checks
   * its action and length. Retransmits with back-off; `beforeSend` runs before every send.
   */
  async transact(
    build: (tid: number) => Buffer,
    action: number,
    minLength: number,
    beforeSend?: () => Promise<void>,
  ): Promise<Buffer> {
    const socket = this.socket!;
    const tid = randomBytes(4).readUInt32BE(0);
    let settle!: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
    const answered = new Promise<Buffer>((resolve, reject) => {
      settle = { resolve, reject };
    });
    answered.catch(() => {}); // a rejection is observed by the race below; never unhandled
    const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (rinfo.port !== this.remote.port || rinfo.address !== this.remote.address) return;
      if (msg.length < 8 || msg.readUInt32BE(4) !== tid) return; // not ours (stale or stray)
      const got = msg.readUInt32BE(0);
      if (got === ACTION.error) {
        const text = msg.subarray(8, 8 + 300).toString('utf8');
        settle.reject(
          new SourceError('TRACKER_FAILURE', `tracker refused the request: ${text || '(no message)'}`),
        );
      } else if (got === ACTION.announce && msg.length === 8) {
        // No interval, no counts: opentracker's answer for an infohash it does not track (whitelist).
        settle.reject(
          new SourceError(
            'TRACKER_FAILURE',
            'tracker refused the announce: empty reply (torrent not tracked there)',
          ),
        );
      } else if (got !== action) {
        settle.reject(
          new SourceError(
            'TRACKER_BAD_RESPONSE',
            `UDP tracker replied with action ${got}, expected ${action}`,
          ),
        );
      } else if (msg.length < minLength) {
        settle.reject(
          new SourceError(
            'TRACKER_BAD_RESPONSE',
            `UDP tracker reply of ${msg.length} bytes, expected at least ${minLength}`,
          ),
        );
      } else {
        settle.resolve(msg);
      }
    };
    socket.on('message', onMessage);
    try {
      for (let n = 0; ; n++) {
        if (beforeSend) await this.race(beforeSend());
        const packet = build(tid);
        socket.send(packet, this.remote.port, this.remote.address);
        const wait = this.baseTimeoutMs * 2 ** n;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), wait);
        });
        try {
          const r = await this.race(Promise.race([answered, timedOut]));
          if (r !== 'timeout') return r;
        } finally {
          clearTimeout(timer);
        }
        if (n >= this.maxRetransmits) {
          throw new SourceError(
            'TRACKER_TIMEOUT',
            `UDP tracker did not answer after ${n + 1} tries (last wait ${wait} ms)`,
          );
        }
      }
    } finally {
      socket.off('message', onMessage);
    }
  }

  close(): void {
    for (const c of this.cleanup) c();
    this.cleanup = [];
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = undefined;
  }
}

// A minimal HTTP tracker (BEP 3, compact peers per BEP 23, peers6 per BEP 7) for loopback tests.
//
// aria2 and Transmission 3 have no "connect to this peer" switch for a .torrent, so tests introduce
// peers to them through a tracker: put `tracker.announceUrl` in the torrent (makeTorrent's
// `trackers`), and pre-register any peer that will not announce itself (our engine in a test that
// gives it no tracker) with `addPeer`. It records every announce so a test can assert on them.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import bencode from 'bencode';

export interface Announce {
  /** Info-hash, lowercase hex (40 chars for v1; a v2 hash truncated to 20 bytes is also 40). */
  infoHash: string;
  /** The 20-byte peer id, hex (clients put binary bytes in it). */
  peerId: string;
  ip: string;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: '' | 'started' | 'completed' | 'stopped';
  compact: boolean;
  /** Raw query string, for tests that want to look at what a client really sent. */
  query: string;
}

export interface TrackerPeer {
  ip: string;
  port: number;
  /** Hex peer id; pre-registered peers may have none (non-compact replies then omit it). */
  peerId?: string;
  /** Bytes left: 0 means a seeder (counted in `complete`). Unknown for pre-registered peers. */
  left?: number;
}

export interface Tracker {
  /** e.g. http://127.0.0.1:40123/announce */
  announceUrl: string;
  port: number;
  /** Every announce received, oldest first. */
  announces: Announce[];
  /** Emits 'announce' (Announce) after recording it. */
  events: EventEmitter;
  /** Make `peer` known for `infoHash` (hex) as if it had announced. */
  addPeer(infoHash: string, peer: TrackerPeer): void;
  removePeer(infoHash: string, ip: string, port: number): void;
  /** The peers known for `infoHash`. */
  peers(infoHash: string): TrackerPeer[];
  /** Resolve with the first announce (already received or future) matching `predicate`. */
  waitForAnnounce(predicate: (a: Announce) => boolean, timeoutMs?: number): Promise<Announce>;
  stop(): Promise<void>;
}

export interface TrackerOptions {
  /** Re-announce interval we ask of clients, seconds. Short so late-registered peers are found. */
  interval?: number;
}

/** Default re-announce interval: clients pick up peers registered after their first announce soon. */
const DEFAULT_INTERVAL_SECONDS = 2;

/**
 * Split a raw query string into keys and BYTE values: info_hash and peer_id are percent-encoded
 * binary, which URLSearchParams would mangle by decoding them as UTF-8.
 */
export function parseQueryBytes(query: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '%' && i + 2 < raw.length && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (c === '+') {
        bytes.push(0x20);
      } else {
        bytes.push(...Buffer.from(c, 'utf8'));
      }
    }
    if (!out.has(key)) out.set(key, Buffer.from(bytes));
  }
  return out;
}

function failure(res: ServerResponse, reason: string): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(Buffer.from(bencode.encode({ 'failure reason': reason })));
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Start a tracker on 127.0.0.1 (or `host`) with an OS-chosen port. */
export async function startTracker(options: TrackerOptions & { host?: string } = {}): Promise<Tracker> {
  const interval = options.interval ?? DEFAULT_INTERVAL_SECONDS;
  const swarms = new Map<string, Map<string, TrackerPeer>>();
  const announces: Announce[] = [];
  const events = new EventEmitter();
  const swarm = (infoHash: string) => {
    const key = infoHash.toLowerCase();
    let peers = swarms.get(key);
    if (!peers) swarms.set(key, (peers = new Map()));
    return peers;
  };

  const onAnnounce = (req: IncomingMessage, res: ServerResponse, query: string) => {
    const q = parseQueryBytes(query);
    const infoHash = q.get('info_hash');
    const peerId = q.get('peer_id');
    const port = Number(q.get('port')?.toString() ?? 'NaN');
    if (infoHash?.length !== 20) return failure(res, 'info_hash must be 20 bytes');
    if (peerId?.length !== 20) return failure(res, 'peer_id must be 20 bytes');
    if (!Number.isInteger(port) || port < 1 || port > 65535) return failure(res, 'bad port');
    const num = (k: string) => Number(q.get(k)?.toString() ?? '0') || 0;
    const eventName = q.get('event')?.toString() ?? '';
    const announce: Announce = {
      infoHash: infoHash.toString('hex'),
      peerId: peerId.toString('hex'),
      // BEP 3's optional `ip` wins (aria2 sends --bt-external-ip there), else the socket's address.
      ip: normaliseIp(q.get('ip')?.toString() || req.socket.remoteAddress || '127.0.0.1'),
      port,
      uploaded: num('uploaded'),
      downloaded: num('downloaded'),
      left: num('left'),
      event: (['started', 'completed', 'stopped'].includes(eventName) ? eventName : '') as Announce['event'],
      compact: q.get('compact')?.toString() === '1',
      query,
    };
    announces.push(announce);
    const peers = swarm(announce.infoHash);
    const self = `${announce.ip}:${announce.port}`;
    if (announce.event === 'stopped') peers.delete(self);
    else peers.set(self, { ip: announce.ip, port, peerId: announce.peerId, left: announce.left });
    events.emit('announce', announce);

    const numwant = Math.min(Number(q.get('numwant')?.toString() ?? '50') || 50, 200);
    const others = [...peers.entries()]
      .filter(([key]) => key !== self)
      .map(([, peer]) => peer)
      .slice(0, numwant);
    const all = [...peers.values()];
    const complete = all.filter((p) => p.left === 0).length;
    const body: Record<string, unknown> = {
      interval,
      'min interval': interval,
      complete,
      incomplete: all.length - complete,
    };
    const v4 = others.filter((p) => !p.ip.includes(':'));
    const v6 = others.filter((p) => p.ip.includes(':'));
    if (announce.compact) {
      body.peers = Buffer.concat(v4.map((p) => compactPeer(p)));
      if (v6.length > 0) body.peers6 = Buffer.concat(v6.map((p) => compactPeer(p)));
    } else {
      body.peers = others.map((p) => {
        const entry: Record<string, unknown> = { ip: p.ip, port: p.port };
        if (p.peerId) entry['peer id'] = Buffer.from(p.peerId, 'hex');
        return entry;
      });
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(Buffer.from(bencode.encode(body)));
  };

  const onScrape = (res: ServerResponse, query: string) => {
    const files: Record<string, unknown> = {};
    for (const part of query.split('&')) {
      if (!part.startsWith('info_hash=')) continue;
      const hash = parseQueryBytes(part).get('info_hash');
      if (hash?.length !== 20) continue;
      const all = [...swarm(hash.toString('hex')).values()];
      const complete = all.filter((p) => p.left === 0).length;
      // bencode sorts keys as raw bytes; the binary info-hash is the key (BEP 48).
      files[hash.toString('latin1')] = { complete, downloaded: 0, incomplete: all.length - complete };
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(Buffer.from(bencode.encode({ files })));
  };

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const qIndex = url.indexOf('?');
    const path = qIndex < 0 ? url : url.slice(0, qIndex);
    const query = qIndex < 0 ? '' : url.slice(qIndex + 1);
    if (path === '/announce') return onAnnounce(req, res, query);
    if (path === '/scrape') return onScrape(res, query);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const hostPart = address.includes(':') ? `[${address}]` : address;

  return {
    announceUrl: `http://${hostPart}:${port}/announce`,
    port,
    announces,
    events,
    addPeer(infoHash, peer) {
      swarm(infoHash).set(`${peer.ip}:${peer.port}`, { ...peer });
    },
    removePeer(infoHash, ip, port) {
      swarm(infoHash).delete(`${ip}:${port}`);
    },
    peers(infoHash) {
      return [...swarm(infoHash).values()];
    },
    waitForAnnounce(predicate, timeoutMs = 30_000) {
      const found = announces.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('announce', listener);
          reject(new Error(`tracker: no matching announce within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (a: Announce) => {
          if (!predicate(a)) return;
          clearTimeout(timer);
          events.off('announce', listener);
          resolve(a);
        };
        events.on('announce', listener);
      });
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function compactPeer(peer: TrackerPeer): Buffer {
  if (peer.ip.includes(':')) {
    const out = Buffer.alloc(18);
    ipv6Bytes(peer.ip).copy(out, 0);
    out.writeUInt16BE(peer.port, 16);
    return out;
  }
  const out = Buffer.alloc(6);
  peer.ip.split('.').forEach((octet, i) => {
    out[i] = Number(octet);
  });
  out.writeUInt16BE(peer.port, 4);
  return out;
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2);
  });
  return out;
}

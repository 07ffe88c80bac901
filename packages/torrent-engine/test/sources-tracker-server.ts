/**
 * Test trackers on loopback: an HTTP tracker whose answer each test chooses, and a BEP 15 UDP
 * tracker with misbehaviours (wrong transaction id, truncated replies, silence, error action).
 */
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@dream/config';

/** Decodes a raw query string keeping byte values (info_hash and peer_id are not UTF-8). */
export function parseRawQuery(query: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '%') {
        bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(raw.charCodeAt(i));
    }
    out.set(key, Buffer.from(bytes));
  }
  return out;
}

export interface HttpReply {
  status?: number;
  body: Uint8Array | string;
  /** Stall forever (timeout tests). */
  hang?: boolean;
  headers?: Record<string, string>;
}

export class HttpTracker {
  readonly requests: Map<string, Buffer>[] = [];
  reply: (q: Map<string, Buffer>) => HttpReply = () => ({ body: 'd8:intervali1800e5:peers0:e' });
  private server = http.createServer((req, res) => {
    const q = parseRawQuery((req.url ?? '').split('?')[1] ?? '');
    q.set(':path', Buffer.from((req.url ?? '').split('?')[0] ?? ''));
    this.requests.push(q);
    const r = this.reply(q);
    if (r.hang) return; // the socket stays open until the client gives up
    res.writeHead(r.status ?? 200, { 'content-type': 'text/plain', ...r.headers });
    res.end(typeof r.body === 'string' ? Buffer.from(r.body, 'latin1') : Buffer.from(r.body));
  });
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/announce`;
  }
  /** Resolves at the next request. */
  nextRequest(): Promise<Map<string, Buffer>> {
    const n = this.requests.length;
    return waitFor(() => this.requests[n]);
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export type UdpBehaviour =
  | 'ok'
  | 'error' // error action with a message
  | 'wrong-tid' // answers with a wrong transaction id first, then correctly
  | 'truncated-connect' // connect reply cut to 12 bytes
  | 'truncated-announce' // announce reply cut to 15 bytes
  | 'drop-first' // ignores the first datagram of each kind (retransmission test)
  | 'silent';

export class UdpTracker {
  behaviour: UdpBehaviour = 'ok';
  peers: Buffer = Buffer.alloc(0);
  interval = 1800;
  readonly received: { action: number; msg: Buffer }[] = [];
  readonly connectionIds = new Set<string>();
  private dropped = new Set<number>();
  private socket: dgram.Socket;
  port = 0;

  constructor(readonly family: 4 | 6 = 4) {
    this.socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) =>
      this.socket.bind(0, this.family === 6 ? '::1' : '127.0.0.1', resolve),
    );
    this.port = this.socket.address().port;
    return this;
  }
  get url(): string {
    return this.family === 6 ? `udp://[::1]:${this.port}` : `udp://127.0.0.1:${this.port}`;
  }
  announces(): Buffer[] {
    return this.received.filter((r) => r.action === 1).map((r) => r.msg);
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private send(b: Buffer, rinfo: dgram.RemoteInfo) {
    this.socket.send(b, rinfo.port, rinfo.address);
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo) {
    if (msg.length < 16) return;
    const isConnect = msg.readBigUInt64BE(0) === 0x41727101980n && msg.readUInt32BE(8) === 0;
    const action = isConnect ? 0 : msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    this.received.push({ action, msg });
    if (this.behaviour === 'silent') return;
    if (this.behaviour === 'drop-first' && !this.dropped.has(action)) {
      this.dropped.add(action);
      return;
    }
    if (this.behaviour === 'error') {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(3, 0);
      b.writeUInt32BE(tid, 4);
      return this.send(Buffer.concat([b, Buffer.from('infohash not whitelisted')]), rinfo);
    }
    if (this.behaviour === 'wrong-tid') {
      const bogus = Buffer.alloc(16);
      bogus.writeUInt32BE(action, 0);
      bogus.writeUInt32BE((tid + 1) >>> 0, 4);
      this.send(bogus, rinfo);
    }
    if (action === 0) {
      const b = Buffer.alloc(16);
      b.writeUInt32BE(0, 0);
      b.writeUInt32BE(tid, 4);
      const id = Buffer.from([1, 2, 3, 4, 5, 6, 7, this.connectionIds.size & 0xff]);
      id.copy(b, 8);
      this.connectionIds.add(id.toString('hex'));
      return this.send(this.behaviour === 'truncated-connect' ? b.subarray(0, 12) : b, rinfo);
    }
    if (action === 1) {
      if (msg.length < 98 || !this.connectionIds.has(msg.subarray(0, 8).toString('hex'))) return;
      const head = Buffer.alloc(20);
      head.writeUInt32BE(1, 0);
      head.writeUInt32BE(tid, 4);
      head.writeUInt32BE(this.interval, 8);
      head.writeUInt32BE(3, 12); // leechers
      head.writeUInt32BE(7, 16); // seeders
      const reply = Buffer.concat([head, this.peers]);
      return this.send(this.behaviour === 'truncated-announce' ? reply.subarray(0, 15) : reply, rinfo);
    }
  }
}

/** Polls until `get` returns a value (for events that have no emitter), bounded. */
export async function waitFor<T>(get: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface CapturedLog {
  log: Logger;
  lines: { level: number; msg: string; [k: string]: unknown }[];
  warnings(): string[];
}

/** A real pino logger writing JSON lines into memory. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  const log = createLogger({ name: 'test', level: 'debug', pretty: false, destination });
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

/** Minimal bencoder for test replies (strings as UTF-8, Uint8Array raw, integers, lists, dicts sorted). */
export function benc(v: unknown): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${Math.trunc(v)}e`);
  if (typeof v === 'string') return benc(Buffer.from(v, 'utf8'));
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(benc), Buffer.from('e')]);
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    const parts = keys.flatMap((k) => [benc(k), benc((v as Record<string, unknown>)[k])]);
    return Buffer.concat([Buffer.from('d'), ...parts, Buffer.from('e')]);
  }
  throw new TypeError(`cannot bencode ${typeof v}`);
}

/**
 * The UDP socket handed to k-rpc-socket (through its `socket` option), with the boundary checks it
 * lacks. Every inbound packet is size-checked, decoded with hard limits and shape-checked
 * (krpc-guard.ts) before k-rpc sees it; what fails is dropped and counted. Responses are accepted
 * only from an address we sent that transaction id to: k-rpc-socket emits unmatched responses as
 * "response" and k-rpc then adds the sender to the routing table, so without this any host could
 * fill our table with unsolicited replies. Traffic counters for `status` live here too.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { filterCompactNodes, filterCompactPeers } from './addresses.js';
import { type BDict, type BValue, bdecode, bencode } from './bencode.js';
import { checkMessage } from './krpc-guard.js';

/**
 * Largest datagram we look at. Mainline messages fit in one Ethernet frame (a full BEP 44 put is
 * about 1,200 bytes; libtorrent's receive buffer is 1,500 bytes); 4 KiB leaves room for sloppy
 * peers and refuses "huge packet" floods before any decoding.
 */
export const MAX_PACKET_BYTES = 4096;
/** How long a query's transaction id stays answerable: k-rpc gives up after ~2.5 s. */
const OUTSTANDING_MS = 10_000;
/** Bound on outstanding query records (k-rpc keeps at most 16 queries in flight per lookup). */
const MAX_OUTSTANDING = 8192;

export interface Traffic {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
  /** Replies from which unusable node or peer addresses were removed. */
  filteredContacts: number;
}

export class GuardedSocket extends EventEmitter {
  readonly traffic: Traffic = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dropped: 0,
    filteredContacts: 0,
  };
  private readonly now: () => number;
  /** The last few drop reasons, for debugging and tests. */
  readonly dropReasons = new Map<string, number>();
  private readonly outstanding = new Map<string, number>();

  constructor(
    private readonly udp: Socket,
    private readonly opts: { allowLoopback: boolean; now?: () => number } = { allowLoopback: true },
  ) {
    super();
    this.now = opts.now ?? Date.now;
    udp.on('message', (buf, rinfo) => this.onPacket(buf, rinfo));
    udp.on('error', (err) => this.emit('error', err));
    udp.on('listening', () => this.emit('listening'));
    udp.on('close', () => this.emit('close'));
  }

  address(): ReturnType<Socket['address']> {
    return this.udp.address();
  }

  bind(...args: unknown[]): void {
    (this.udp.bind as (...a: unknown[]) => void)(...args);
  }

  close(): void {
    try {
      this.udp.close();
    } catch {
      // Already closed: nothing to do.
    }
  }

  /** The signature k-rpc-socket calls. */
  send(
    buf: Buffer,
    offset: number,
    length: number,
    port: number,
    host: string,
    cb?: (err: Error | null) => void,
  ): void {
    const done = cb ?? (() => {});
    const decoded = bdecode(buf);
    if (decoded.ok) {
      const msg = decoded.value as { y?: BValue; t?: BValue };
      if (Buffer.isBuffer(msg.y) && msg.y.toString() === 'q' && Buffer.isBuffer(msg.t)) {
        this.remember(`${host}|${msg.t.toString('hex')}`);
      }
      if (this.listenerCount('krpc-out')) this.emit('krpc-out', decoded.value, host, port);
    }
    this.traffic.packetsOut++;
    this.traffic.bytesOut += length;
    try {
      // Node throws synchronously on a bad port or address (a node that advertised port 0, say);
      // k-rpc does not expect that from inside its message handler, so turn it into a callback.
      this.udp.send(buf, offset, length, port, host, (err) => done(err ?? null));
    } catch (err) {
      process.nextTick(done, err as Error);
    }
  }

  /** Sends a KRPC error reply (used for malformed queries). */
  sendError(t: Buffer, code: number, message: string, rinfo: RemoteInfo): void {
    const buf = bencode({ t, y: 'e', e: [code, message] });
    this.send(buf, 0, buf.length, rinfo.port, rinfo.address);
  }

  private onPacket(buf: Buffer, rinfo: RemoteInfo): void {
    this.traffic.packetsIn++;
    this.traffic.bytesIn += buf.length;
    if (!rinfo.port) {
      this.drop('source port 0');
      return;
    }
    if (buf.length > MAX_PACKET_BYTES) {
      this.drop('packet too large');
      return;
    }
    const decoded = bdecode(buf);
    if (!decoded.ok) {
      this.drop('bad bencode');
      return;
    }
    const check = checkMessage(decoded.value);
    if (!check.ok) {
      if (check.reply203) this.sendError(check.reply203.t, 203, check.reply203.message, rinfo);
      this.drop(check.reason);
      return;
    }
    if (check.y !== 'q') {
      const key = `${rinfo.address}|${check.t.toString('hex')}`;
      const expires = this.outstanding.get(key);
      if (expires === undefined || expires < this.now()) {
        this.drop('unsolicited response');
        return;
      }
      this.outstanding.delete(key);
    }
    const out = check.y === 'r' ? this.sanitizeReply(buf, decoded.value as BDict) : buf;
    if (this.listenerCount('krpc-in')) this.emit('krpc-in', decoded.value, rinfo);
    this.emit('message', out, rinfo);
  }

  /**
   * Removes unusable contacts (addresses.ts) from a reply's nodes and values, re-encoding only
   * when something was removed.
   */
  private sanitizeReply(buf: Buffer, msg: BDict): Buffer {
    const r = msg.r as BDict;
    let changed = false;
    if (Buffer.isBuffer(r.nodes)) {
      const nodes = filterCompactNodes(r.nodes, this.opts.allowLoopback);
      if (nodes !== r.nodes) {
        r.nodes = nodes;
        changed = true;
      }
    }
    if (Array.isArray(r.values)) {
      const values = filterCompactPeers(r.values as Buffer[], this.opts.allowLoopback);
      if (values.length !== r.values.length) {
        r.values = values;
        changed = true;
      }
    }
    if (!changed) return buf;
    this.traffic.filteredContacts++;
    return bencode(msg);
  }

  private drop(reason: string): void {
    this.traffic.dropped++;
    // Reasons are a small closed set plus krpc-guard's messages; bound the map anyway.
    if (this.dropReasons.size < 256 || this.dropReasons.has(reason)) {
      this.dropReasons.set(reason, (this.dropReasons.get(reason) ?? 0) + 1);
    }
  }

  private remember(key: string): void {
    const now = this.now();
    if (this.outstanding.size >= MAX_OUTSTANDING) {
      // Map iterates in insertion order, which is expiry order: drop the expired head, and if it
      // is all live, the oldest (its query has long been abandoned by k-rpc).
      for (const [k, exp] of this.outstanding) {
        if (exp >= now && this.outstanding.size < MAX_OUTSTANDING) break;
        this.outstanding.delete(k);
      }
    }
    this.outstanding.delete(key);
    this.outstanding.set(key, now + OUTSTANDING_MS);
  }
}

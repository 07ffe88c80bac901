/**
 * One connected, handshaken peer of one torrent: the guarded wire, its socket, what it has, the
 * requests we have in flight to it, and its integrity record (strikes). The torrent drives it.
 */
import type { Socket } from 'node:net';
import { Bitfield, type PeerAddress } from '../bitfield.js';
import type { GuardedWire } from '../wire/guarded-wire.js';
import { UploadGate } from './upload-gate.js';

export interface InFlight {
  piece: number;
  begin: number;
  length: number;
  requestedAt: number;
}

/** Below this, time since the first request is not a rate's denominator: one quick block is not a link speed. */
const MIN_RATE_AGE_MS = 100;
/** The meter's own figure is a rate once it has a second of history. */
const METER_WARM_MS = 1000;

/**
 * A new connection's download rate. bittorrent-protocol's meter (`throughput`, 5 s window) reports,
 * during its first second, the bytes so far as if they came in one second: 16 KiB/s after one block,
 * however fast it came. The planner sizes a peer's pipeline from its rate, so a new peer's pipeline
 * dropped to two requests after its first block and grew one block per block received, a slow start
 * of several round trips before the first piece. Until the meter has a second of history, the rate
 * is the bytes received over the time since our first request. First piece from a 4 MiB/s seeder
 * 100 ms away: 688 -> 581 ms; 200 ms away: 1,282 -> 946 ms (bench/remote-peer.ts).
 */
export function earlyDownloadRate(meter: number, bytes: number, sinceFirstRequestMs: number): number {
  if (!(sinceFirstRequestMs < METER_WARM_MS)) return meter;
  return Math.max(meter, (bytes * 1000) / Math.max(sinceFirstRequestMs, MIN_RATE_AGE_MS));
}

export class Peer {
  /** Unique per connection (the remote peer id may repeat across reconnects). */
  readonly id: string;
  readonly remote: PeerAddress;
  /** The address to dial it back / to ban: its listen port when known (BEP 10 `p`), else remote. */
  listen: PeerAddress;
  readonly incoming: boolean;
  readonly wire: GuardedWire;
  readonly socket: Socket;
  readonly connectedAt = Date.now();
  peerId: string;
  client: string | undefined;
  has: Bitfield | undefined;
  readonly inFlight = new Map<string, InFlight>();
  /** Hash failures this peer contributed to; `soleStrikes` = failures where it sent every block. */
  strikes = 0;
  soleStrikes = 0;
  lastBlockAt = Date.now();
  snubbed = false;
  /** Cap on our outstanding requests to it: its BEP 10 `reqq` (default 250, libtorrent's). */
  maxOutstanding = 250;
  /** Its requests to us, answered no faster than the connection takes the bytes. */
  readonly uploads: UploadGate;
  closed = false;
  /** Payload bytes this connection brought in verified pieces (for "useful" accounting). */
  usefulBytes = 0;
  /** When we sent it our first request (Date.now()): the start of its rate's history. */
  firstRequestAt: number | undefined;
  /** Round trip measured by the handshake (outgoing connections), ms. */
  readonly rttMs: number | undefined;
  /** How this connection's payload travels (MSE, swarm.md#encryption). */
  readonly encryption: 'none' | 'plaintext' | 'rc4';

  constructor(opts: {
    id: string;
    remote: PeerAddress;
    incoming: boolean;
    wire: GuardedWire;
    socket: Socket;
    peerId: string;
    rttMs?: number;
    encryption?: 'none' | 'plaintext' | 'rc4';
  }) {
    this.id = opts.id;
    this.remote = opts.remote;
    this.listen = opts.remote;
    this.incoming = opts.incoming;
    this.wire = opts.wire;
    this.socket = opts.socket;
    this.peerId = opts.peerId;
    this.rttMs = opts.rttMs;
    this.encryption = opts.encryption ?? 'none';
    const { socket, wire } = opts;
    this.uploads = new UploadGate(() => socket.writableLength + wire.outgoingBytes());
    socket.on('drain', () => this.uploads.drained());
  }

  /** Builds `has` from the wire's view once the piece count is known (after metadata for magnets). */
  initHas(pieceCount: number): void {
    if (this.has) return;
    const bits = new Bitfield(pieceCount);
    const wp = this.wire.peerPieces;
    for (let i = 0; i < pieceCount; i++) if (wp.get(i)) bits.set(i);
    this.has = bits;
  }

  downloadRate(now = Date.now()): number {
    const meter = this.wire.downloadSpeed();
    if (this.firstRequestAt === undefined) return meter;
    return earlyDownloadRate(meter, this.wire.downloaded, now - this.firstRequestAt);
  }

  uploadRate(): number {
    return this.wire.uploadSpeed();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.uploads.close();
    this.wire.destroy();
    this.socket.destroy();
  }
}

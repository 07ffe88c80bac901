/**
 * One connected, handshaken peer of one torrent: the guarded wire, its socket, what it has, the
 * requests we have in flight to it, and its integrity record (strikes). The torrent drives it.
 */
import type { Socket } from 'node:net';
import { Bitfield, type PeerAddress } from '../bitfield.js';
import type { GuardedWire } from '../wire/guarded-wire.js';

export interface InFlight {
  piece: number;
  begin: number;
  length: number;
  requestedAt: number;
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
  closed = false;
  /** Payload bytes this connection brought in verified pieces (for "useful" accounting). */
  usefulBytes = 0;

  constructor(opts: {
    id: string;
    remote: PeerAddress;
    incoming: boolean;
    wire: GuardedWire;
    socket: Socket;
    peerId: string;
  }) {
    this.id = opts.id;
    this.remote = opts.remote;
    this.listen = opts.remote;
    this.incoming = opts.incoming;
    this.wire = opts.wire;
    this.socket = opts.socket;
    this.peerId = opts.peerId;
  }

  /** Builds `has` from the wire's view once the piece count is known (after metadata for magnets). */
  initHas(pieceCount: number): void {
    if (this.has) return;
    const bits = new Bitfield(pieceCount);
    const wp = this.wire.peerPieces;
    for (let i = 0; i < pieceCount; i++) if (wp.get(i)) bits.set(i);
    this.has = bits;
  }

  downloadRate(): number {
    return this.wire.downloadSpeed();
  }

  uploadRate(): number {
    return this.wire.uploadSpeed();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wire.destroy();
    this.socket.destroy();
  }
}

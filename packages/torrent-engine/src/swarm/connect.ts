/**
 * Making connections: dialling out, and the listener every torrent shares (incoming connections
 * are routed by the info hash in their handshake). Both hand over a socket and a guarded wire whose
 * BitTorrent handshake is done, or fail within HANDSHAKE_TIMEOUT_MS.
 */
import { EventEmitter } from 'node:events';
import net, { type Socket } from 'node:net';
import type { PeerAddress } from '../bitfield.js';
import { GuardedWire } from '../wire/guarded-wire.js';
import { HANDSHAKE_TIMEOUT_MS } from '../wire/limits.js';
import { pumpCoalesced } from '../wire/write-coalescing.js';

export interface Handshaken {
  infohash: string;
  wire: GuardedWire;
  socket: Socket;
  remote: PeerAddress;
  peerId: string;
  incoming: boolean;
  /**
   * Outgoing only: ms from our handshake to theirs, one network round trip (plus the peer's
   * reaction). The planner sizes a new connection's first requests by it.
   */
  rttMs?: number;
}

/** What a torrent prepares on a fresh wire before our handshake goes out (extensions, limits). */
export type WireSetup = (wire: GuardedWire) => void;

/** Read buffer of an outgoing connection, reused for every read (see GuardedWire.feed). */
const READ_BUFFER_BYTES = 256 * 1024;

function pipe(socket: Socket, wire: GuardedWire, fed = false): void {
  socket.setNoDelay(true);
  // Incoming sockets (net.Server has no onread): each chunk is fed as read; feed() never
  // concatenates and copies only what outlives the call.
  if (!fed)
    socket.on('data', (chunk: Buffer) => {
      if (!wire.destroyed) wire.feed(chunk);
    });
  pumpCoalesced(wire, socket);
  const end = () => {
    wire.destroy();
    socket.destroy();
  };
  socket.on('error', end);
  socket.on('close', end);
  wire.on('error', end);
  wire.on('close', end);
  wire.on('end', end);
  // A violation ends the wire, but streamx may defer the end when it happens inside a write; the
  // socket must go at once.
  wire.on('violation', end);
}

/** Dials `addr`, handshakes for `infohash`; rejects on timeout, refusal, wrong hash or ourselves. */
export function dialPeer(
  addr: PeerAddress,
  opts: { infohash: string; peerId: string; pieceCount?: number; setup: WireSetup; signal?: AbortSignal },
): Promise<Handshaken> {
  return new Promise((resolve, reject) => {
    const wire = new GuardedWire({ incoming: false, pieceCount: opts.pieceCount });
    const socket = net.connect({
      host: addr.host,
      port: addr.port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          if (!wire.destroyed) wire.feed(buf.subarray(0, n));
          return true;
        },
      },
    });
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      wire.destroy();
      socket.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail('handshake timeout'), HANDSHAKE_TIMEOUT_MS);
    opts.signal?.addEventListener('abort', () => fail('aborted'), { once: true });
    socket.once('error', (err) => fail(err.message));
    socket.once('close', () => fail('connection closed during handshake'));
    let handshakeSentAt: number | undefined;
    socket.once('connect', () => {
      pipe(socket, wire, true);
      opts.setup(wire);
      wire.handshake(opts.infohash, opts.peerId, { dht: false });
      handshakeSentAt = performance.now();
    });
    wire.once('handshake', (infohash: string, peerId: string) => {
      if (infohash !== opts.infohash) return fail('peer answered for another torrent');
      if (peerId === opts.peerId) return fail('connected to ourselves');
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('connect');
      const rttMs = handshakeSentAt === undefined ? undefined : performance.now() - handshakeSentAt;
      resolve({
        infohash,
        wire,
        socket,
        remote: addr,
        peerId,
        incoming: false,
        ...(rttMs !== undefined ? { rttMs } : {}),
      });
    });
  });
}

/**
 * Accepts incoming peers on torrent.host:torrent.port. `route(infohash)` returns the setup for a
 * torrent we serve (or undefined: the connection is dropped) and `accept` receives the result.
 */
export class PeerListener extends EventEmitter {
  private readonly server: net.Server;
  private readonly pending = new Set<Socket>();

  constructor(
    private readonly opts: {
      peerId: string;
      route: (infohash: string) => { setup: WireSetup; pieceCount?: number } | undefined;
      accept: (h: Handshaken) => void;
      /** Called before any handshake; false drops the socket (global connection limit). */
      admit: () => boolean;
    },
  ) {
    super();
    this.server = net.createServer((socket) => this.onSocket(socket));
    this.server.on('error', (err) => this.emit('error', err));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.pending) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onSocket(socket: Socket): void {
    if (!this.opts.admit()) {
      socket.destroy();
      return;
    }
    const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const wire = new GuardedWire({ incoming: true });
    this.pending.add(socket);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
    pipe(socket, wire);
    wire.once('handshake', (infohash: string, peerId: string) => {
      const route = this.opts.route(infohash);
      if (!route || peerId === this.opts.peerId) {
        socket.destroy();
        return;
      }
      clearTimeout(timer);
      this.pending.delete(socket);
      wire.pieceCount = route.pieceCount;
      route.setup(wire);
      wire.handshake(infohash, this.opts.peerId, { dht: false });
      this.opts.accept({ infohash, wire, socket, remote, peerId, incoming: true });
    });
  }
}

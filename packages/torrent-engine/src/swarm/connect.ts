/**
 * Making connections: dialling out, and the listener every torrent shares (incoming connections
 * are routed by the info hash in their handshake). Both hand over a socket and a guarded wire whose
 * BitTorrent handshake is done, or fail within HANDSHAKE_TIMEOUT_MS.
 *
 * Either side may first run the MSE encryption handshake (wire/mse/): out, when the policy requires
 * it or a plaintext attempt was hung up on (peers that require encryption drop plaintext); in,
 * whenever the first bytes are not a plaintext BitTorrent handshake.
 */
import { EventEmitter } from 'node:events';
import net, { type Socket } from 'node:net';
import type { PeerAddress } from '../bitfield.js';
import { GuardedWire } from '../wire/guarded-wire.js';
import { HANDSHAKE_TIMEOUT_MS } from '../wire/limits.js';
import {
  type EncryptionPolicy,
  type MseResult,
  methodsFor,
  mseInitiate,
  mseRespond,
  newReader,
  PLAINTEXT_PREFIX,
  req2Hash,
} from '../wire/mse/handshake.js';
import { pumpCoalesced } from '../wire/write-coalescing.js';

export interface Handshaken {
  infohash: string;
  wire: GuardedWire;
  socket: Socket;
  remote: PeerAddress;
  peerId: string;
  incoming: boolean;
  /**
   * ms of one network round trip (plus the peer's reaction): outgoing, from our handshake to theirs
   * (or through MSE, its key exchange); incoming, only through MSE (its key exchange), a plaintext
   * handshake asks nothing we could time. The planner sizes a new connection's first requests by it.
   */
  rttMs?: number;
  /** How the payload travels: no MSE, MSE with a plaintext payload, or MSE with RC4. */
  encryption: 'none' | MseResult['method'];
}

/** What a torrent prepares on a fresh wire before our handshake goes out (extensions, limits). */
export type WireSetup = (wire: GuardedWire) => void;

/** Read buffer of an outgoing connection, reused for every read (see GuardedWire.feed). */
const READ_BUFFER_BYTES = 256 * 1024;

function pipe(socket: Socket, wire: GuardedWire, fed: boolean, mse?: MseResult): void {
  socket.setNoDelay(true);
  // Incoming sockets (net.Server has no onread): each chunk is fed as read; feed() never
  // concatenates and copies only what outlives the call.
  if (!fed)
    socket.on('data', (chunk: Buffer) => {
      if (!wire.destroyed) wire.feed(mse ? mse.decrypt(chunk) : chunk);
    });
  pumpCoalesced(wire, socket, mse?.encrypt);
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

export interface DialOptions {
  infohash: string;
  /**
   * Hybrid torrents: the v2 info hash truncated to 20 bytes (40 hex). The BEP 52 v2 bit goes out
   * in our handshake, and a peer that upgrades the connection answers with this hash.
   */
  infohashV2?: string;
  peerId: string;
  pieceCount?: number;
  setup: WireSetup;
  signal?: AbortSignal;
  /** Default 'disabled' (plaintext only). */
  encryption?: EncryptionPolicy;
}

/**
 * Dials `addr`, handshakes for `infohash`; rejects on timeout, refusal, wrong hash or ourselves.
 * Under 'enabled', a peer that hangs up on our plaintext handshake without a byte (what a peer
 * requiring encryption does) is dialled again with MSE; under 'required', only with MSE.
 */
export async function dialPeer(addr: PeerAddress, opts: DialOptions): Promise<Handshaken> {
  const policy = opts.encryption ?? 'disabled';
  if (policy === 'required') return dialOnce(addr, opts, policy);
  try {
    return await dialOnce(addr, opts, undefined);
  } catch (err) {
    if (policy !== 'enabled' || !(err instanceof HungUp) || opts.signal?.aborted) throw err;
    return dialOnce(addr, opts, policy);
  }
}

/** The peer closed the connection before sending a byte (a refusal of plaintext, or of us). */
class HungUp extends Error {}

/** The peer's handshake named another torrent than either hash we offered. */
export class OtherTorrent extends Error {}

function dialOnce(
  addr: PeerAddress,
  opts: DialOptions,
  mse: EncryptionPolicy | undefined,
): Promise<Handshaken> {
  return new Promise((resolve, reject) => {
    const wire = new GuardedWire({ incoming: false, pieceCount: opts.pieceCount });
    wire.advertiseV2 = opts.infohashV2 !== undefined;
    if (opts.infohashV2 !== undefined) {
      const { infohash, infohashV2 } = opts;
      wire.v1For = (named) => (named === infohashV2 ? infohash : undefined);
    }
    const reader = mse ? newReader() : undefined;
    let received = 0;
    // Until the MSE handshake is done its bytes go to the reader; then, decrypted, to the wire.
    let sink = (buf: Uint8Array) => (reader ? reader.push(buf) : wire.feed(buf));
    const socket = net.connect({
      host: addr.host,
      port: addr.port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          received += n;
          if (!wire.destroyed) sink(buf.subarray(0, n));
          return true;
        },
      },
    });
    let settled = false;
    /** `Kind`: the error the dial rejects with (a hang-up and another torrent are told apart). */
    const fail = (why: string, Kind: new (why: string) => Error = Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reader?.fail(new Error(why));
      wire.destroy();
      socket.destroy();
      reject(new Kind(why));
    };
    const timer = setTimeout(() => fail('handshake timeout'), HANDSHAKE_TIMEOUT_MS);
    opts.signal?.addEventListener('abort', () => fail('aborted'), { once: true });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.message,
        err.code === 'ECONNRESET' && received === 0 && socket.bytesWritten > 0 ? HungUp : Error,
      ),
    );
    socket.once('close', () => fail('connection closed during handshake', received === 0 ? HungUp : Error));
    let handshakeSentAt: number | undefined;
    let encrypted: MseResult | undefined;
    const startWire = () => {
      pipe(socket, wire, true);
      opts.setup(wire);
      wire.handshake(opts.infohash, opts.peerId, { dht: false });
      handshakeSentAt = performance.now();
    };
    socket.once('connect', () => {
      if (!reader || !mse) return startWire();
      // Our BitTorrent handshake rides in MSE's initial payload: what the wire says before the
      // encryption is settled is held here, the handshake given to MSE, anything later written
      // (encrypted as agreed) before the wire's own pump takes over.
      opts.setup(wire);
      const held: Uint8Array[] = [];
      const hold = (chunk: Uint8Array) => held.push(chunk);
      wire.on('data', hold);
      wire.handshake(opts.infohash, opts.peerId, { dht: false });
      const initialPayload = () => Buffer.concat(held.splice(0));
      mseInitiate(
        { reader, write: (b) => socket.write(b) },
        opts.infohash,
        methodsFor(mse),
        initialPayload,
      ).then(
        (r) => {
          if (settled) return;
          encrypted = r;
          wire.off('data', hold);
          sink = (buf) => wire.feed(r.decrypt(buf));
          for (const chunk of held.splice(0)) socket.write(r.encrypt(chunk));
          pipe(socket, wire, true, r);
          if (r.leftover.length > 0) wire.feed(r.leftover);
        },
        (err: Error) => fail(`encryption handshake: ${err.message}`),
      );
    });
    wire.once('handshake', (infohash: string, peerId: string) => {
      // A peer that answered with the v2 hash was mapped to the v1 one (wire.v1For): upgraded.
      if (infohash !== opts.infohash) return fail('peer answered for another torrent', OtherTorrent);
      wire.v2 = wire.namedV2;
      if (peerId === opts.peerId) return fail('connected to ourselves');
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('connect');
      // Through MSE, our handshake went out a round trip after the connection's first bytes: the
      // DH exchange timed that round trip without the peer's reaction to a handshake in it.
      const rttMs =
        encrypted?.rttMs ?? (handshakeSentAt === undefined ? undefined : performance.now() - handshakeSentAt);
      resolve({
        infohash: opts.infohash,
        wire,
        socket,
        remote: addr,
        peerId,
        incoming: false,
        encryption: encrypted ? encrypted.method : 'none',
        ...(rttMs !== undefined ? { rttMs } : {}),
      });
    });
  });
}

/**
 * Accepts incoming peers on torrent.host:torrent.port. `route(infohash)` returns the setup for a
 * torrent we serve (or undefined: the connection is dropped) and `accept` receives the result.
 * Emits 'refused' ({peer, reason}) for an encryption handshake that failed.
 */
export class PeerListener extends EventEmitter {
  private readonly server: net.Server;
  private readonly pending = new Set<Socket>();

  constructor(
    private readonly opts: {
      peerId: string;
      /**
       * The torrent a handshake names, by its v1 info hash or (hybrid torrents) its truncated v2
       * one: `infohash` is the v1 hash the torrent is known by.
       */
      route: (
        infohash: string,
      ) => { setup: WireSetup; pieceCount?: number; infohash: string; infohashV2?: string } | undefined;
      accept: (h: Handshaken) => void;
      /** Called before any handshake; false drops the socket (global connection limit). */
      admit: () => boolean;
      /** Our torrents' infohashes: an MSE peer names its torrent only by a hash of one of them. */
      infohashes?: () => Iterable<string>;
      /** Default 'disabled': MSE peers are dropped. */
      encryption?: EncryptionPolicy;
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
    // The torrent the handshake names, found once: here, where a v2 hash is mapped to the v1 one
    // before the 'handshake' event (wire.v1For), and used again there.
    let route: ReturnType<typeof this.opts.route>;
    wire.v1For = (named) => {
      route = this.opts.route(named);
      return route && route.infohashV2 === named ? route.infohash : undefined;
    };
    this.pending.add(socket);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    const policy = this.opts.encryption ?? 'disabled';
    let encrypted: MseResult | undefined;
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
    wire.once('handshake', (infohash: string, peerId: string) => {
      // Through MSE the peer named its torrent already: the handshake must be for the same one.
      const sameTorrent = !encrypted || encrypted.infohash === infohash;
      if (!route || peerId === this.opts.peerId || !sameTorrent) {
        socket.destroy();
        return;
      }
      clearTimeout(timer);
      this.pending.delete(socket);
      wire.pieceCount = route.pieceCount;
      route.setup(wire);
      // BEP 52 upgrade, as libtorrent answers: a peer that named the v2 hash (wire.v1For mapped
      // it to the v1 one for the routing and the extensions: wire.namedV2), or named the v1 hash
      // with the v2 bit set, gets the v2 hash back and the connection carries hash requests. The
      // bit alone does not upgrade through MSE: its keys came from the v1 hash the peer chose.
      const v2 = route.infohashV2 !== undefined && (wire.namedV2 || (!encrypted && wire.peerAdvertisedV2));
      wire.advertiseV2 = route.infohashV2 !== undefined;
      wire.v2 = v2;
      wire.handshake(v2 ? (route.infohashV2 as string) : infohash, this.opts.peerId, { dht: false });
      this.opts.accept({
        infohash: route.infohash,
        wire,
        socket,
        remote,
        peerId,
        incoming: true,
        encryption: encrypted ? encrypted.method : 'none',
        ...(encrypted?.rttMs !== undefined ? { rttMs: encrypted.rttMs } : {}),
      });
    });
    // The first bytes tell a plaintext handshake (19, "BitTorrent protocol") from MSE (random
    // Diffie-Hellman key bytes): 20 bytes, or fewer once one differs.
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PLAINTEXT_PREFIX.length);
      const plaintext = head.subarray(0, n).equals(PLAINTEXT_PREFIX.subarray(0, n));
      if (plaintext && n < PLAINTEXT_PREFIX.length) return; // too few bytes to tell yet
      socket.off('data', sniff);
      if (plaintext ? policy === 'required' : policy === 'disabled') {
        socket.destroy();
        return;
      }
      if (plaintext) {
        pipe(socket, wire, false);
        wire.feed(head);
        return;
      }
      this.respondEncrypted(socket, head, policy).then(
        (r) => {
          if (socket.destroyed) return;
          encrypted = r;
          pipe(socket, wire, false, r);
          if (r.leftover.length > 0) wire.feed(r.leftover);
        },
        (err: Error) => {
          this.emit('refused', { peer: `${remote.host}:${remote.port}`, reason: err.message });
          socket.destroy();
        },
      );
    };
    socket.on('data', sniff);
    socket.on('error', () => socket.destroy());
  }

  /** Side B of MSE on a socket whose first bytes (`head`) were read already. */
  private async respondEncrypted(socket: Socket, head: Buffer, policy: EncryptionPolicy): Promise<MseResult> {
    const reader = newReader();
    const onData = (chunk: Buffer) => reader.push(chunk);
    const onClose = () => reader.fail(new Error('connection closed during the encryption handshake'));
    socket.on('data', onData);
    socket.once('close', onClose);
    reader.push(head);
    try {
      const ours = [...(this.opts.infohashes?.() ?? [])].map((ih) => ({ ih, req2: req2Hash(ih) }));
      return await mseRespond(
        { reader, write: (b) => socket.write(b) },
        methodsFor(policy),
        (req2) => ours.find((t) => t.req2.equals(req2))?.ih,
      );
    } finally {
      socket.off('data', onData);
      socket.off('close', onClose);
    }
  }
}

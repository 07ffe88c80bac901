/**
 * bittorrent-protocol's Wire with the limits it lacks. The upstream parser trusts the length prefix
 * (a 4 GiB length makes it buffer forever, and lengths >= 2^31 read as negative and are taken for
 * keep-alives), queues any number of incoming requests of any size, and throws out of extension
 * handlers into the stream. Each check here turns such input into a 'violation' event followed by
 * the connection's end; the swarm then bans the address for the session.
 */
import Wire from 'bittorrent-protocol';
import { MAX_MESSAGE_LENGTH, MAX_PEER_REQUESTS, MAX_REQUEST_LENGTH, maxMessageLength } from './limits.js';

export type ViolationReason =
  | 'message-too-long'
  | 'request-too-long'
  | 'too-many-requests'
  | 'bad-bitfield'
  | 'bad-have'
  | 'bad-request'
  | 'unrequested-piece'
  | 'bad-extension-message'
  | 'bad-hash-message';

/** BEP 52 hash messages: request (21), hashes (22), reject (23). */
const HASH_REQUEST = 21;
const HASHES = 22;
const HASH_REJECT = 23;
/** id, pieces root, base layer, index, length, proof layers. */
const HASH_HEADER_BYTES = 1 + 32 + 4 * 4;

/** A BEP 52 hash request: `length` hashes of layer `baseLayer` of tree `root` from `index`. */
export interface HashQuestion {
  root: Buffer;
  baseLayer: number;
  index: number;
  length: number;
  proofLayers: number;
}

/** A BEP 52 `hashes` answer, or (without `hashes`) a `hash reject`. */
export interface HashAnswer extends HashQuestion {
  /** Concatenated 32-byte hashes: `length` of the base layer, then the proof's uncles. */
  hashes?: Buffer;
}

export interface GuardedWireOptions {
  incoming: boolean;
  /** Number of pieces, once the metadata is known; checks bitfield/have/request indices. */
  pieceCount?: number;
}

type Parser = (buf: Uint8Array) => void;
interface WireBuffers {
  _buffer: Uint8Array[];
  _bufferSize: number;
  _parserSize: number;
  _parser: Parser;
}
interface WireInternals {
  _parse(size: number, parser: Parser): void;
  _onKeepAlive(): void;
  _onMessage: Parser;
  _onMessageLength: Parser;
}

export class GuardedWire extends Wire {
  pieceCount: number | undefined;
  violation: ViolationReason | undefined;
  /** Time of the last message (any, keep-alives included) from the peer. */
  lastMessageAt = Date.now();
  /** Payload bytes of blocks never requested at all (a cancelled or choked request is not counted). */
  private unrequestedBytes = 0;
  /**
   * Requests we cancelled, or that a choke discarded, recently: their blocks may still arrive (they
   * were on the wire already) and are dropped without counting against the peer. Bounded.
   */
  private readonly cancelled = new Set<string>();

  /**
   * Bytes the wire has produced and its reader (the write pump) has not taken yet: they pile up
   * here while the pump waits for the socket to drain. streamx keeps the count as
   * `_readableState.buffered` (streamx is pinned with bittorrent-protocol).
   */
  outgoingBytes(): number {
    const state = (this as unknown as { _readableState: { buffered?: number } | null })._readableState;
    return state?.buffered ?? 0;
  }

  /**
   * Does the peer still wait for this block? Not once it cancelled the request, nor after a choke
   * discarded it: bittorrent-protocol would drop our answer, so reading it would be wasted.
   */
  peerStillWants(index: number, offset: number, length: number): boolean {
    const pending = (this as unknown as { peerRequests: { piece: number; offset: number; length: number }[] })
      .peerRequests;
    return pending.some((r) => r.piece === index && r.offset === offset && r.length === length);
  }

  /** Set before our handshake: the BEP 52 v2 bit goes out in it (hybrid torrents only). */
  advertiseV2 = false;
  /** The peer set the BEP 52 v2 bit in its handshake. */
  peerAdvertisedV2 = false;
  /**
   * The connection is upgraded to v2: its handshakes named the torrent by its (truncated) v2 info
   * hash. Only then does libtorrent answer hash requests (it drops us for asking otherwise).
   */
  v2 = false;
  /**
   * Maps the hash a peer's handshake names to the torrent's v1 hash when it is the torrent's
   * (truncated) v2 one. Extensions are told the v1 hash: ut_metadata checks the metadata it fetches
   * against the hash it is given, and the v2 one would fail every time.
   */
  v1For: ((infohash: string) => string | undefined) | undefined;
  /** The peer's handshake named the torrent by its v2 hash (set before the 'handshake' event). */
  namedV2 = false;

  constructor(opts: GuardedWireOptions) {
    super(opts.incoming ? 'tcpIncoming' : 'tcpOutgoing');
    this.pieceCount = opts.pieceCount;
    const self = this as unknown as WireInternals;
    // streamx calls this._write(data, cb): an own property shadows the upstream method.
    (this as unknown as { _write: unknown })._write = (data: Uint8Array, cb: (err: Error | null) => void) =>
      this.writeChunk(data, cb);
    // Replace the length-prefix parser: unsigned read, bounded.
    self._onMessageLength = (buf: Uint8Array) => {
      this.lastMessageAt = Date.now();
      const length =
        ((buf[0] ?? 0) * 0x1000000 + ((buf[1] ?? 0) << 16) + ((buf[2] ?? 0) << 8) + (buf[3] ?? 0)) >>> 0;
      if (length === 0) {
        self._onKeepAlive();
        self._parse(4, self._onMessageLength);
        return;
      }
      if (length > maxMessageLength(this.pieceCount)) {
        this.violate('message-too-long');
        return;
      }
      self._parse(length, (msg) => this.guardMessage(msg));
    };
  }

  /**
   * Replaces the upstream writer, which concatenates everything buffered on every incoming chunk
   * (one extra copy of all downloaded data): buffers are kept as they arrive and a message is
   * copied only when it straddles two of them. Plain TCP only (no MSE: the engine never enables it).
   */
  /**
   * Feeds bytes that stay valid only during this call (a socket `onread` buffer, reused for every
   * read: no allocation per read, so no garbage for the GC at hundreds of MiB/s). Piece messages
   * are handed on as views and copied once into their piece by the torrent, synchronously; other
   * messages, and the tail of a message still incomplete, are copied.
   */
  feed(data: Uint8Array): void {
    const self = this as unknown as WireBuffers;
    self._buffer.push(data);
    self._bufferSize += data.length;
    this.ephemeral = true;
    try {
      this.drain(self);
    } finally {
      this.ephemeral = false;
    }
    if (self._bufferSize > 0 && self._buffer.some((b) => b.buffer === data.buffer)) {
      const rest = Buffer.allocUnsafe(self._bufferSize);
      let off = 0;
      for (const b of self._buffer) {
        rest.set(b, off);
        off += b.length;
      }
      self._buffer = [rest];
    }
  }

  private ephemeral = false;

  private writeChunk(data: Uint8Array, cb: (err: Error | null) => void): void {
    const self = this as unknown as WireBuffers;
    self._bufferSize += data.length;
    self._buffer.push(data);
    this.drain(self);
    cb(null);
  }

  private drain(self: WireBuffers): void {
    while (self._bufferSize >= self._parserSize) {
      const size = self._parserSize;
      if (size === 0) {
        self._parser(new Uint8Array(0));
        continue;
      }
      const first = self._buffer[0] as Uint8Array;
      let msg: Uint8Array;
      if (first.length >= size) {
        msg = first.subarray(0, size);
        if (first.length === size) self._buffer.shift();
        else self._buffer[0] = first.subarray(size);
      } else {
        msg = Buffer.allocUnsafe(size);
        let off = 0;
        while (off < size) {
          const b = self._buffer[0] as Uint8Array;
          const take = Math.min(b.length, size - off);
          msg.set(take === b.length ? b : b.subarray(0, take), off);
          off += take;
          if (take === b.length) self._buffer.shift();
          else self._buffer[0] = b.subarray(take);
        }
      }
      self._bufferSize -= size;
      self._parser(msg);
    }
  }

  override handshake(
    infoHash: string | Uint8Array,
    peerId: string | Uint8Array,
    extensions?: Record<string, boolean>,
  ): void {
    if (!this.advertiseV2) {
      super.handshake(infoHash, peerId, extensions);
      return;
    }
    // bittorrent-protocol writes the reserved bytes itself and knows no v2 bit: set it in the one
    // buffer the handshake pushes (19 + "BitTorrent protocol", then 8 reserved bytes).
    const self = this as unknown as { _push(data: Uint8Array): unknown };
    const push = self._push;
    self._push = (data: Uint8Array) => {
      self._push = push;
      const withBit = Uint8Array.from(data);
      withBit[27] = (withBit[27] ?? 0) | 0x10;
      return push.call(this, withBit);
    };
    try {
      super.handshake(infoHash, peerId, extensions);
    } finally {
      self._push = push;
    }
  }

  /** Upstream parses the peer's handshake here and reports only three reserved bits. */
  _onHandshakeBuffer(handshake: Uint8Array): void {
    this.peerAdvertisedV2 = ((handshake[19 + 7] ?? 0) & 0x10) !== 0;
    (Wire.prototype as unknown as { _onHandshakeBuffer(h: Uint8Array): void })._onHandshakeBuffer.call(
      this,
      handshake,
    );
  }

  _onHandshake(infoHash: Uint8Array, peerId: Uint8Array, extensions: unknown): void {
    const named = Buffer.from(infoHash).toString('hex');
    const v1 = this.v1For?.(named);
    let hash = infoHash;
    if (v1 !== undefined && v1 !== named) {
      this.namedV2 = true;
      hash = Buffer.from(v1, 'hex');
    }
    (
      Wire.prototype as unknown as { _onHandshake(h: Uint8Array, p: Uint8Array, e: unknown): void }
    )._onHandshake.call(this, hash, peerId, extensions);
  }

  /** BEP 52: asks for `length` hashes of layer `baseLayer` of the tree `root`, from `index`. */
  hashRequest(root: Uint8Array, baseLayer: number, index: number, length: number, proofLayers: number): void {
    this.pushHashMessage(HASH_REQUEST, root, [baseLayer, index, length, proofLayers]);
  }

  /** BEP 52: answers a hash request (`hashes`: the base layer's, then the proof's). */
  hashes(q: HashQuestion, hashes: Uint8Array): void {
    this.pushHashMessage(HASHES, q.root, [q.baseLayer, q.index, q.length, q.proofLayers], hashes);
  }

  /** BEP 52: declines a hash request. */
  hashReject(q: HashQuestion): void {
    this.pushHashMessage(HASH_REJECT, q.root, [q.baseLayer, q.index, q.length, q.proofLayers]);
  }

  private pushHashMessage(id: number, root: Uint8Array, numbers: number[], hashes?: Uint8Array): void {
    const body = HASH_HEADER_BYTES + (hashes?.length ?? 0);
    const msg = Buffer.allocUnsafe(4 + body);
    msg.writeUInt32BE(body, 0);
    msg[4] = id;
    msg.set(root, 5);
    for (const [i, n] of numbers.entries()) msg.writeUInt32BE(n, 37 + 4 * i);
    if (hashes) msg.set(hashes, 4 + HASH_HEADER_BYTES);
    (this as unknown as { _push(data: Uint8Array): unknown })._push(msg);
  }

  /**
   * BEP 52 messages, which bittorrent-protocol does not know. A request goes to the torrent
   * ('hash-request'), which answers or declines; with no one listening it is declined at once.
   */
  private onHashMessage(msg: Uint8Array): ViolationReason | 'drop' {
    if (msg.length < HASH_HEADER_BYTES) return 'bad-hash-message';
    const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
    const root = Buffer.from(b.subarray(1, 33));
    const numbers = [b.readUInt32BE(33), b.readUInt32BE(37), b.readUInt32BE(41), b.readUInt32BE(45)] as const;
    const [baseLayer, index, length, proofLayers] = numbers;
    if (msg[0] === HASH_REQUEST || msg[0] === HASH_REJECT) {
      if (msg.length !== HASH_HEADER_BYTES) return 'bad-hash-message';
      const q: HashQuestion = { root, baseLayer, index, length, proofLayers };
      if (msg[0] === HASH_REJECT) this.emit('hash-answer', q satisfies HashAnswer);
      else if (this.listenerCount('hash-request') > 0) this.emit('hash-request', q);
      else this.hashReject(q);
      return 'drop';
    }
    const hashes = b.subarray(HASH_HEADER_BYTES);
    // (The length cap, MAX_HASHES_MESSAGE_LENGTH, is maxMessageLength's, checked before this.)
    if (hashes.length % 32 !== 0) return 'bad-hash-message';
    const answer: HashAnswer = { root, baseLayer, index, length, proofLayers, hashes: Buffer.from(hashes) };
    this.emit('hash-answer', answer);
    return 'drop';
  }

  /** Checks a complete message before the upstream dispatcher sees it. */
  private guardMessage(message: Uint8Array): void {
    let msg = message;
    const self = this as unknown as WireInternals;
    const verdict = this.check(msg);
    // A view into a reused read buffer must not outlive this call (bitfields are kept as given).
    if (this.ephemeral && msg[0] !== 7) msg = Buffer.from(msg); // a copy (Buffer#slice would be a view)
    if (verdict === 'drop') {
      self._parse(4, self._onMessageLength);
      return;
    }
    if (verdict) {
      this.violate(verdict);
      return;
    }
    try {
      self._onMessage.call(this, msg);
    } catch {
      // ut_metadata / ut_pex handlers throw on some malformed payloads (out-of-range pieces).
      this.violate('bad-extension-message');
    }
  }

  /** undefined: pass it on; 'drop': ignore it silently; else the violation. */
  private check(msg: Uint8Array): ViolationReason | 'drop' | undefined {
    const n = this.pieceCount;
    const u32 = (at: number) =>
      ((msg[at] ?? 0) * 0x1000000 +
        ((msg[at + 1] ?? 0) << 16) +
        ((msg[at + 2] ?? 0) << 8) +
        (msg[at + 3] ?? 0)) >>>
      0;
    // The length prefix was held to the largest of all kinds (a bitfield, a hashes answer); every
    // other kind is held to the usual limit here.
    if (msg.length > MAX_MESSAGE_LENGTH && msg[0] !== 5 && msg[0] !== HASHES) return 'message-too-long';
    switch (msg[0]) {
      case 0: // choke: the peer discards our requests, but blocks already sent may still come
        for (const r of this.requests) this.rememberCancelled(r.piece, r.offset, r.length);
        return undefined;
      case 4: // have
        if (msg.length !== 5 || (n !== undefined && u32(1) >= n)) return 'bad-have';
        return undefined;
      case 5: {
        // bitfield: exact length, and spare bits past the last piece zero (BEP 3: drop the peer).
        if (n === undefined) return undefined;
        if (msg.length - 1 !== Math.ceil(n / 8)) return 'bad-bitfield';
        const spare = Math.ceil(n / 8) * 8 - n;
        if (spare > 0 && ((msg[msg.length - 1] ?? 0) & ((1 << spare) - 1)) !== 0) return 'bad-bitfield';
        return undefined;
      }
      case 6: {
        // request
        if (msg.length !== 13) return 'bad-request';
        const length = u32(9);
        if (length === 0 || length > MAX_REQUEST_LENGTH) return 'request-too-long';
        if (n !== undefined && u32(1) >= n) return 'bad-request';
        if (this.peerRequests.length >= MAX_PEER_REQUESTS) return 'too-many-requests';
        return undefined;
      }
      case 7: {
        // piece: a block we never asked for (or cancelled) is dropped, not passed on; a cancelled
        // one is normal (it crossed our CANCEL), more than 2 MiB never requested is a violation.
        if (msg.length < 9) return 'bad-request';
        const index = u32(1);
        const begin = u32(5);
        const len = msg.length - 9;
        if (this.requests.some((r) => r.piece === index && r.offset === begin && r.length === len))
          return undefined;
        if (this.cancelled.delete(`${index}:${begin}:${len}`)) return 'drop';
        this.unrequestedBytes += len;
        return this.unrequestedBytes > 16 * MAX_REQUEST_LENGTH ? 'unrequested-piece' : 'drop';
      }
      case 8: // cancel
      case 16: // reject
        return msg.length !== 13 ? 'bad-request' : undefined;
      case HASH_REQUEST:
      case HASHES:
      case HASH_REJECT:
        return this.onHashMessage(msg);
      default:
        return undefined;
    }
  }

  override cancel(index: number, offset: number, length: number): void {
    this.rememberCancelled(index, offset, length);
    super.cancel(index, offset, length);
  }

  private rememberCancelled(index: number, offset: number, length: number): void {
    this.cancelled.add(`${index}:${offset}:${length}`);
    // Insertion order: drop the oldest beyond twice the largest pipeline.
    if (this.cancelled.size > 2 * MAX_PEER_REQUESTS) {
      const oldest = this.cancelled.values().next().value;
      if (oldest !== undefined) this.cancelled.delete(oldest);
    }
  }

  violate(reason: ViolationReason): void {
    if (this.violation) return;
    this.violation = reason;
    const self = this as unknown as WireInternals;
    self._parse(Number.MAX_SAFE_INTEGER, () => {});
    this.emit('violation', reason);
    this.destroy();
  }
}

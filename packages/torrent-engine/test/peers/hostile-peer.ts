// A hostile BitTorrent peer for tests: it seeds a torrent from a folder but lies.
//
// Data lies: it serves wrong bytes for chosen pieces (a list, a seeded probability, or all), the
// same pieces every time, so a client that retries a bad piece from it gets the same bad bytes.
// Protocol lies: right after the handshake it sends an oversized message length, garbage, a
// bitfield of the wrong length, a bitfield with spare bits set, or blocks nobody asked for.
// It counts what it was asked, so a test can check that a client stopped asking (banned it) or
// hung up on it, and still completed correctly from honest peers.
//
// Written with bittorrent-protocol (the wire our engine also uses), plain TCP, no encryption, v1
// only (a hybrid torrent works: it speaks the v1 info-hash).
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import bencode from 'bencode';
import Protocol from 'bittorrent-protocol';
import { v1InfoHash } from './fixtures.js';

export type ProtocolAbuse =
  /** A message length prefix of 2 GiB - 1 (then a few bytes): a client must not allocate it. */
  | 'oversized-length'
  /** 256 random bytes where messages should be. */
  | 'garbage-after-handshake'
  /** A bitfield 3 bytes longer than the piece count allows. */
  | 'bad-bitfield-length'
  /** A bitfield of the right length whose spare trailing bits are set (BEP 3: drop the peer). */
  | 'bitfield-spare-bits'
  /** A full bitfield and unchoke, then a 16 KiB block of piece 0 that was never requested. */
  | 'unrequested-piece';

export interface HostilePeerOptions {
  /** The .torrent's bytes (v1 or hybrid). */
  torrent: Uint8Array;
  /** Folder holding the torrent's root file/folder (like libtorrent's savePath). */
  dir: string;
  /** Which pieces get wrong bytes. Default: none (an honest peer, until `protocol` says otherwise). */
  corrupt?: { pieces?: readonly number[]; probability?: number; all?: boolean; seed?: number };
  /** Misbehave at the protocol level instead of serving data. */
  protocol?: ProtocolAbuse;
  /** Ports (on 127.0.0.1) to dial at start; more later with `connect`. */
  connectTo?: number[];
}

export interface HostilePeerStats {
  connections: number;
  /** Handshakes completed for our info-hash. */
  handshakes: number;
  /** Protocol abuses sent (one per handshake in `protocol` mode). */
  abusesSent: number;
  /** Connections the other side closed (or that failed), as opposed to us in stop(). */
  closedByRemote: number;
  requests: number;
  /** Requests per piece index. */
  requestsByPiece: Map<number, number>;
  blocksSent: number;
  corruptBlocksSent: number;
}

export interface HostilePeer {
  port: number;
  infoHash: string;
  stats: HostilePeerStats;
  /** Whether this peer lies about `piece`. */
  isCorrupt(piece: number): boolean;
  /** The bytes it would send for a block (corrupted or not). */
  block(index: number, begin: number, length: number): Promise<Buffer>;
  /** Dial a peer (127.0.0.1 unless `host`). */
  connect(port: number, host?: string): void;
  stop(): Promise<void>;
}

interface Layout {
  pieceLength: number;
  length: number;
  pieceCount: number;
  files: { path: string; offset: number; length: number; pad: boolean }[];
}

/** File layout of the v1 part of a torrent, pad files included (they read as zeros). */
export function layoutOf(torrent: Uint8Array): Layout {
  const decoded = bencode.decode(torrent) as { info: Record<string, unknown> };
  const info = decoded.info;
  const text = (v: unknown) => Buffer.from(v as Uint8Array).toString('utf8');
  const name = text(info.name);
  const pieceLength = info['piece length'] as number;
  if (!info.pieces) throw new Error('hostile peer: v2-only torrents are not supported (no v1 pieces)');
  const files: Layout['files'] = [];
  let offset = 0;
  if (Array.isArray(info.files)) {
    for (const f of info.files as { length: number; path: Uint8Array[]; attr?: Uint8Array }[]) {
      const path = join(name, ...f.path.map(text));
      const pad = f.attr !== undefined && text(f.attr).includes('p');
      files.push({ path, offset, length: f.length, pad });
      offset += f.length;
    }
  } else {
    files.push({ path: name, offset: 0, length: info.length as number, pad: false });
    offset = info.length as number;
  }
  return { pieceLength, length: offset, pieceCount: Math.ceil(offset / pieceLength), files };
}

/** Deterministic per-piece coin: the same (seed, piece) always lands the same way. */
function coin(seed: number, piece: number): number {
  return createHash('sha1').update(`${seed}:${piece}`).digest().readUInt32BE(0) / 0x1_0000_0000;
}

export async function startHostilePeer(options: HostilePeerOptions): Promise<HostilePeer> {
  const layout = layoutOf(options.torrent);
  const infoHash = v1InfoHash(options.torrent);
  // Azureus-style id: '-DH0001-' marks the Dream harness, the rest random.
  const peerId = Buffer.concat([Buffer.from('-DH0001-'), randomBytes(12)]).toString('hex');
  const corrupt = options.corrupt ?? {};
  const corruptPieces = new Set(corrupt.pieces ?? []);
  const isCorrupt = (piece: number) =>
    corrupt.all === true ||
    corruptPieces.has(piece) ||
    (corrupt.probability !== undefined && coin(corrupt.seed ?? 1, piece) < corrupt.probability);

  const handles = new Map<string, Promise<FileHandle>>();
  const fileHandle = (path: string) => {
    let handle = handles.get(path);
    if (!handle) handles.set(path, (handle = open(join(options.dir, path), 'r')));
    return handle;
  };

  const block = async (index: number, begin: number, length: number): Promise<Buffer> => {
    const start = index * layout.pieceLength + begin;
    const out = Buffer.alloc(length);
    for (const file of layout.files) {
      const from = Math.max(start, file.offset);
      const to = Math.min(start + length, file.offset + file.length);
      if (from >= to || file.pad) continue; // pad files are zeros, already there
      const handle = await fileHandle(file.path);
      await handle.read(out, from - start, to - from, from - file.offset);
    }
    if (isCorrupt(index)) {
      // Flip every 1024th byte: wrong enough for any hash, plausible enough to look like data.
      for (let i = 0; i < out.length; i += 1024) out[i] = out[i]! ^ 0xff;
    }
    return out;
  };

  const stats: HostilePeerStats = {
    connections: 0,
    handshakes: 0,
    abusesSent: 0,
    closedByRemote: 0,
    requests: 0,
    requestsByPiece: new Map(),
    blocksSent: 0,
    corruptBlocksSent: 0,
  };
  const sockets = new Set<Socket>();
  let stopping = false;

  const fullBitfield = () => {
    const bits = Buffer.alloc(Math.ceil(layout.pieceCount / 8));
    for (let i = 0; i < layout.pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7);
    return bits;
  };

  const abuse = (socket: Socket, wire: InstanceType<typeof Protocol>) => {
    stats.abusesSent++;
    switch (options.protocol) {
      case 'oversized-length': {
        const msg = Buffer.alloc(9);
        msg.writeUInt32BE(0x7fff_ffff, 0);
        msg[4] = 7; // "piece", the message a client is most tempted to buffer
        socket.write(msg);
        break;
      }
      case 'garbage-after-handshake':
        socket.write(randomBytes(256));
        break;
      case 'bad-bitfield-length': {
        const bits = Buffer.concat([fullBitfield(), Buffer.alloc(3, 0xff)]);
        const head = Buffer.alloc(5);
        head.writeUInt32BE(bits.length + 1, 0);
        head[4] = 5;
        socket.write(Buffer.concat([head, bits]));
        break;
      }
      case 'bitfield-spare-bits': {
        // All bits set, spare ones included (with a multiple of 8 pieces there are none to set).
        wire.bitfield(Buffer.alloc(Math.ceil(layout.pieceCount / 8), 0xff));
        break;
      }
      case 'unrequested-piece':
        wire.bitfield(fullBitfield());
        wire.unchoke();
        void block(0, 0, Math.min(16_384, layout.length)).then((data) => wire.piece(0, 0, data));
        break;
    }
  };

  const handle = (socket: Socket, outgoing: boolean) => {
    stats.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      if (!stopping) stats.closedByRemote++;
    });
    const wire = new Protocol();
    wire.on('error', () => socket.destroy());
    socket.pipe(wire).pipe(socket);
    if (outgoing) wire.handshake(infoHash, peerId, { dht: false });
    wire.on('handshake', (theirHash: string) => {
      if (theirHash !== infoHash) {
        socket.destroy();
        return;
      }
      stats.handshakes++;
      if (!outgoing) wire.handshake(infoHash, peerId, { dht: false });
      if (options.protocol) {
        abuse(socket, wire);
        return;
      }
      wire.bitfield(fullBitfield());
      wire.unchoke();
    });
    wire.on(
      'request',
      (
        index: number,
        offset: number,
        length: number,
        respond: (err: Error | null, data?: Buffer) => void,
      ) => {
        stats.requests++;
        stats.requestsByPiece.set(index, (stats.requestsByPiece.get(index) ?? 0) + 1);
        block(index, offset, length).then(
          (data) => {
            stats.blocksSent++;
            if (isCorrupt(index)) stats.corruptBlocksSent++;
            respond(null, data);
          },
          (err: Error) => respond(err),
        );
      },
    );
  };

  const server: Server = createServer((socket) => handle(socket, false));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const connect = (toPort: number, host = '127.0.0.1') => {
    const socket = netConnect({ port: toPort, host });
    socket.once('connect', () => handle(socket, true));
    socket.once('error', () => {
      if (!sockets.has(socket)) stats.closedByRemote++;
    });
  };
  for (const p of options.connectTo ?? []) connect(p);

  return {
    port,
    infoHash,
    stats,
    isCorrupt,
    block,
    connect,
    async stop() {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const h of handles.values()) await (await h.catch(() => undefined))?.close();
    },
  };
}

// Minimal typings for the untyped npm packages the harness uses (none ships its own .d.ts).
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, encoding?: string): unknown;
  };
  export default bencode;
}

declare module 'create-torrent' {
  function createTorrent(
    input: string | string[],
    opts: Record<string, unknown>,
    cb: (err: Error | null, torrent: Buffer) => void,
  ): void;
  export default createTorrent;
}

declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash: string;
    name?: string;
    length: number;
    pieceLength: number;
    lastPieceLength: number;
    pieces: string[];
    files: { path: string; name: string; length: number; offset: number }[];
    announce: string[];
    private?: boolean;
  }
  function parseTorrent(torrent: Uint8Array | string): Promise<ParsedTorrent>;
  export default parseTorrent;
}

declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream';
  /** The peer wire (BEP 3/6/10): pipe a socket through it; see the package's README. */
  export default class Protocol extends Duplex {
    constructor(type?: string, peEnabled?: number);
    handshake(infoHash: string, peerId: string, extensions?: Record<string, boolean>): void;
    bitfield(bits: Uint8Array): void;
    choke(): void;
    unchoke(): void;
    interested(): void;
    uninterested(): void;
    have(index: number): void;
    request(
      index: number,
      offset: number,
      length: number,
      cb: (err: Error | null, block?: Buffer) => void,
    ): void;
    piece(index: number, offset: number, buffer: Uint8Array): void;
    cancel(index: number, offset: number, length: number): void;
    peerChoking: boolean;
    peerPieces: { get(index: number): boolean };
  }
}

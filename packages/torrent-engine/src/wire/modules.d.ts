// Minimal typings for the webtorrent wire modules (they ship none). Only what the engine uses.
declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream';

  interface WireRequest {
    piece: number;
    offset: number;
    length: number;
  }
  interface BitFieldLike {
    get(i: number): boolean;
    buffer: Uint8Array;
  }
  export default class Wire extends Duplex {
    constructor(type?: string | null, retries?: number, peEnabled?: boolean);
    peerId: string | null;
    type: string | null;
    amChoking: boolean;
    amInterested: boolean;
    peerChoking: boolean;
    peerInterested: boolean;
    peerPieces: BitFieldLike;
    peerExtensions: { dht?: boolean; extended?: boolean; fast?: boolean };
    peerExtendedHandshake: Record<string, unknown>;
    extendedHandshake: Record<string, unknown>;
    requests: WireRequest[];
    peerRequests: WireRequest[];
    uploaded: number;
    downloaded: number;
    uploadSpeed(): number;
    downloadSpeed(): number;
    destroyed: boolean;
    handshake(
      infoHash: string | Uint8Array,
      peerId: string | Uint8Array,
      extensions?: Record<string, boolean>,
    ): void;
    setKeepAlive(enable: boolean): void;
    setTimeout(ms: number, unref?: boolean): void;
    use(ext: unknown): void;
    choke(): void;
    unchoke(): void;
    interested(): void;
    uninterested(): void;
    have(index: number): void;
    bitfield(bits: Uint8Array): void;
    request(
      index: number,
      offset: number,
      length: number,
      cb: (err: Error | null, block?: Uint8Array) => void,
    ): void;
    cancel(index: number, offset: number, length: number): void;
    piece(index: number, offset: number, buffer: Uint8Array): void;
    extended(ext: number | string, obj: unknown): void;
    destroy(): this;
    end(): this;
    [key: string]: unknown;
  }
}

declare module 'ut_metadata' {
  export default function utMetadata(metadata?: Uint8Array): unknown;
}

declare module 'ut_pex' {
  export default function utPex(): unknown;
}

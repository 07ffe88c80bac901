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

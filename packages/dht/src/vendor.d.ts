// Minimal types for the parts of bittorrent-dht@11 and k-rpc Dream uses (they ship none).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface KNode {
    id: Buffer;
    host: string;
    port: number;
    seen?: number;
  }
  export interface KBucket {
    count(): number;
    toArray(): KNode[];
    closest(id: Buffer, n?: number): KNode[];
  }
  export interface DHTOptions {
    nodeId?: Buffer;
    bootstrap?: Array<{ host: string; port: number }> | false;
    socket?: unknown;
    verify?: (sig: Buffer, msg: Buffer, pk: Buffer) => boolean;
    timeout?: number;
    k?: number;
    concurrency?: number;
    maxValues?: number;
    maxTables?: number;
  }
  export interface GetResult {
    v: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
    id?: Buffer;
  }
  export interface PutOptions {
    v: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
    cas?: number;
  }
  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions);
    nodeId: Buffer;
    nodes: KBucket;
    ready: boolean;
    listening: boolean;
    destroyed: boolean;
    _peers: unknown;
    _rpc: { nodes: KBucket; socket: { inflight: number } };
    listen(port: number, host: string, cb?: () => void): void;
    address(): { address: string; port: number };
    addNode(node: { id?: Buffer; host: string; port: number }): void;
    lookup(infoHash: Buffer, cb?: (err: Error | null, n?: number) => void): () => void;
    announce(infoHash: Buffer, port: number, cb?: (err: Error | null) => void): void;
    get(
      key: Buffer,
      opts: { cache?: boolean; salt?: Buffer },
      cb: (err: Error | null, res: GetResult | null) => void,
    ): void;
    put(opts: PutOptions, cb: (err: Error | null, key: Buffer, n?: number) => void): Buffer;
    destroy(cb?: () => void): void;
  }
}

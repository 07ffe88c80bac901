/**
 * The client dream-torrent and dream-cli use to talk to dream-dht's local API. Plain fetch (Node
 * 20 has it); find-peers reads the NDJSON stream line by line, so peers reach the caller as the
 * lookup finds them.
 */
import {
  type Ed25519Keypair,
  generateKeypair,
  MAX_SALT_BYTES,
  mutableTarget,
  signMutable,
  verifyMutable,
} from './bep44.js';
import type { ApiErrorCode } from './errors.js';
import type { AnnounceEntry, DhtStatus, MutableItem, PeerAddress } from './types.js';

/** An error the API returned (`code` is from the catalogue in docs/design/dht.md), or `unreachable`. */
export class DhtApiError extends Error {
  constructor(
    readonly code: ApiErrorCode | 'unreachable' | 'bad_response',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DhtApiError';
  }
}

export interface FindPeersOptions {
  signal?: AbortSignal;
  /** The lookup's deadline, enforced by the daemon (and here, with a little grace). Default 10 s. */
  timeoutMs?: number;
}

export interface PutMutableOptions {
  keypair: Ed25519Keypair;
  value: Uint8Array;
  seq: number;
  salt?: Uint8Array;
  /** Compare-and-swap: the put succeeds only if the stored seq equals this. */
  cas?: number;
}

const HEX40 = /^[0-9a-fA-F]{40}$/;
/** Time allowed beyond the deadline for the daemon to end the stream itself. */
const DEADLINE_GRACE_MS = 2_000;

export class DhtClient {
  private readonly base: string;

  constructor(opts: { apiUrl: string }) {
    this.base = opts.apiUrl.replace(/\/+$/, '');
  }

  static generateKeypair(): Ed25519Keypair {
    return generateKeypair();
  }

  async *findPeers(infohash: string, opts: FindPeersOptions = {}): AsyncIterable<PeerAddress> {
    checkHex40(infohash, 'infohash');
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = AbortSignal.timeout(timeoutMs + DEADLINE_GRACE_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    const res = await this.fetch(`/v1/peers/${infohash.toLowerCase()}?timeout_ms=${Math.round(timeoutMs)}`, {
      signal,
    });
    if (!res.ok) throw await apiError(res);
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      while (true) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          // Our own deadline or the caller's abort: the iteration just ends, like the daemon's.
          if (signal.aborted) return;
          throw new DhtApiError('unreachable', `find peers stream broke: ${(err as Error).message}`);
        }
        if (chunk.done) break;
        buffered += decoder.decode(chunk.value, { stream: true });
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          // A caller that aborted wants nothing more, even lines already received.
          if (opts.signal?.aborted) return;
          if (line) yield parsePeer(line);
          nl = buffered.indexOf('\n');
        }
      }
      const rest = buffered.trim();
      if (rest && !opts.signal?.aborted) yield parsePeer(rest);
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async announce(infohash: string, port: number): Promise<void> {
    checkHex40(infohash, 'infohash');
    await this.json('PUT', `/v1/announces/${infohash.toLowerCase()}`, { port });
  }

  async unannounce(infohash: string): Promise<void> {
    checkHex40(infohash, 'infohash');
    await this.json('DELETE', `/v1/announces/${infohash.toLowerCase()}`);
  }

  async announces(): Promise<AnnounceEntry[]> {
    return ((await this.json('GET', '/v1/announces')) as { announces: AnnounceEntry[] }).announces;
  }

  async status(): Promise<DhtStatus> {
    return (await this.json('GET', '/v1/status')) as DhtStatus;
  }

  /** Stores a 1-1000 byte value; returns its target, sha1 of the bencoded value (hex). */
  async putImmutable(value: Uint8Array): Promise<string> {
    const r = (await this.json('POST', '/v1/immutable', { v: Buffer.from(value).toString('base64') })) as {
      target: string;
    };
    return r.target;
  }

  async getImmutable(target: string): Promise<Uint8Array | undefined> {
    checkHex40(target, 'target');
    const r = (await this.json('GET', `/v1/immutable/${target.toLowerCase()}`, undefined, true)) as
      | { v: string }
      | undefined;
    return r ? new Uint8Array(Buffer.from(r.v, 'base64')) : undefined;
  }

  /**
   * Signs here (the secret key never leaves this process) and asks the daemon to put. Returns the
   * target, sha1(publicKey + salt) in hex.
   */
  async putMutable(opts: PutMutableOptions): Promise<string> {
    if (opts.salt && opts.salt.length > MAX_SALT_BYTES)
      throw new RangeError(`salt is over ${MAX_SALT_BYTES} bytes`);
    const sig = signMutable(opts.keypair, opts.value, opts.seq, opts.salt);
    const key = Buffer.from(opts.keypair.publicKey).toString('hex');
    await this.json('PUT', `/v1/mutable/${key}`, {
      v: Buffer.from(opts.value).toString('base64'),
      seq: opts.seq,
      sig: sig.toString('hex'),
      salt: opts.salt ? Buffer.from(opts.salt).toString('hex') : undefined,
      cas: opts.cas,
    });
    return mutableTarget(opts.keypair.publicKey, opts.salt);
  }

  /** The newest item signed by publicKey (with this salt) that the DHT returns; verified here too. */
  async getMutable(
    publicKey: Uint8Array,
    opts: { salt?: Uint8Array } = {},
  ): Promise<MutableItem | undefined> {
    const key = Buffer.from(publicKey).toString('hex');
    const q = opts.salt?.length ? `?salt=${Buffer.from(opts.salt).toString('hex')}` : '';
    const r = (await this.json('GET', `/v1/mutable/${key}${q}`, undefined, true)) as
      | { v: string; seq: number; sig: string }
      | undefined;
    if (!r) return undefined;
    const item = {
      value: new Uint8Array(Buffer.from(r.v, 'base64')),
      seq: r.seq,
      signature: new Uint8Array(Buffer.from(r.sig, 'hex')),
    };
    if (!verifyMutable(publicKey, item.value, item.seq, item.signature, opts.salt)) {
      throw new DhtApiError(
        'bad_response',
        'the daemon returned a mutable item whose signature does not verify',
      );
    }
    return item;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, init);
    } catch (err) {
      throw new DhtApiError(
        'unreachable',
        `dream-dht API at ${this.base} unreachable: ${(err as Error).message}`,
      );
    }
  }

  private async json(
    method: string,
    path: string,
    body?: unknown,
    notFoundIsUndefined = false,
  ): Promise<unknown> {
    const res = await this.fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    if (notFoundIsUndefined && res.status === 404) {
      const err = await apiError(res);
      if (err.code === 'not_found') return undefined;
      throw err;
    }
    if (!res.ok) throw await apiError(res);
    if (res.status === 204) return undefined;
    return res.json();
  }
}

function checkHex40(s: string, what: string): void {
  if (!HEX40.test(s))
    throw new TypeError(`${what} must be 40 hexadecimal digits, found ${JSON.stringify(s)}`);
}

function parsePeer(line: string): PeerAddress {
  const p = JSON.parse(line) as PeerAddress;
  if (typeof p?.host !== 'string' || typeof p.port !== 'number') {
    throw new DhtApiError('bad_response', `unexpected line in find-peers stream: ${line.slice(0, 200)}`);
  }
  return { host: p.host, port: p.port };
}

async function apiError(res: Response): Promise<DhtApiError> {
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error: { code: ApiErrorCode; message: string } }).error;
    if (e?.code) return new DhtApiError(e.code, e.message, res.status);
  } catch {
    // Not our JSON: fall through.
  }
  return new DhtApiError('bad_response', `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
}

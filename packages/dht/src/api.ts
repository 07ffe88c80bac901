/**
 * The local HTTP API (fastify), bound to 127.0.0.1 only. Routes, bodies and error codes are
 * documented in docs/design/dht.md. The API knows nothing of bittorrent-dht: it drives a
 * DhtService, so it can be tested with fastify's inject() against a fake.
 *
 * DNS rebinding: a web page can make a browser send requests to 127.0.0.1 under a hostname the
 * attacker controls; such requests carry that hostname in Host, so anything but a loopback name is
 * refused with 403 before routing.
 */
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { MAX_SALT_BYTES, MAX_VALUE_BYTES } from './bep44.js';
import { API_ERRORS, ApiError } from './errors.js';
import type { AnnounceEntry, DhtStatus, MutableItem, PeerAddress } from './types.js';

export interface DhtService {
  status(): DhtStatus;
  /** Starts a lookup; calls onPeer per peer (possibly repeated), done once. Returns an abort. */
  lookup(infohash: Buffer, onPeer: (p: PeerAddress) => void, done: () => void): () => void;
  announce(infohash: string, port: number): void;
  unannounce(infohash: string): boolean;
  announces(): AnnounceEntry[];
  putImmutable(value: Buffer): Promise<{ target: string; nodes: number }>;
  getImmutable(target: Buffer): Promise<Buffer | undefined>;
  putMutable(item: {
    publicKey: Buffer;
    value: Buffer;
    seq: number;
    signature: Buffer;
    salt?: Buffer;
    cas?: number;
  }): Promise<{ target: string; nodes: number }>;
  getMutable(publicKey: Buffer, salt?: Buffer): Promise<MutableItem | undefined>;
}

export const DEFAULT_FIND_TIMEOUT_MS = 10_000;
export const MAX_FIND_TIMEOUT_MS = 120_000;
const MIN_FIND_TIMEOUT_MS = 100;
/**
 * Open find-peers streams at once. Each runs an iterative lookup with up to 16 queries in flight;
 * dream-torrent needs a handful (one per active torrent), so 256 is generous and still bounds
 * the UDP load one local client can cause.
 */
export const MAX_OPEN_LOOKUPS = 256;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Host header without its port; undefined when absent. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

const HEX40 = /^[0-9a-fA-F]{40}$/;

function hex40(s: unknown, code: 'invalid_infohash' | 'invalid_target', what: string): Buffer {
  if (typeof s !== 'string' || !HEX40.test(s)) {
    throw new ApiError(
      code,
      `${what} must be 40 hexadecimal digits, found ${JSON.stringify(String(s).slice(0, 80))}`,
    );
  }
  return Buffer.from(s, 'hex');
}

function publicKey(s: unknown): Buffer {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{64}$/.test(s)) {
    throw new ApiError(
      'invalid_key',
      `public key must be 64 hexadecimal digits (32 bytes), found ${JSON.stringify(String(s).slice(0, 80))}`,
    );
  }
  return Buffer.from(s, 'hex');
}

function salt(s: unknown): Buffer | undefined {
  if (s === undefined || s === '') return undefined;
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(s) || s.length > MAX_SALT_BYTES * 2) {
    throw new ApiError('invalid_key', `salt must be hex, at most ${MAX_SALT_BYTES} bytes`);
  }
  return Buffer.from(s, 'hex');
}

function value(v: unknown): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw new ApiError('invalid_body', 'body.v must be the value in base64');
  }
  const buf = Buffer.from(v, 'base64');
  if (buf.length === 0 || buf.length > MAX_VALUE_BYTES) {
    throw new ApiError(
      'value_too_large',
      `a BEP 44 value is 1-${MAX_VALUE_BYTES} bytes, this one is ${buf.length}`,
    );
  }
  return buf;
}

function nonNegInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ApiError('invalid_body', `body.${name} must be a non-negative integer`);
  }
  return v;
}

function body(b: unknown): Record<string, unknown> {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new ApiError('invalid_body', 'expected a JSON object body (Content-Type: application/json)');
  }
  return b as Record<string, unknown>;
}

export interface ApiHandle {
  app: FastifyInstance;
  /** Ends every open find-peers stream (used on shutdown). */
  endStreams(): void;
}

export function buildApi(svc: DhtService, opts: { isClosing?: () => boolean } = {}): ApiHandle {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, forceCloseConnections: true });
  const streams = new Set<() => void>();

  app.addHook('onRequest', async (req) => {
    const host = hostName(req.headers.host);
    if (!host || !LOOPBACK_HOSTS.has(host)) {
      throw new ApiError(
        'forbidden_host',
        `Host ${JSON.stringify(req.headers.host ?? '')} refused: the DHT API answers only to 127.0.0.1, localhost or [::1]`,
      );
    }
    // A page on any site can send "simple" requests (a POST with a text/plain body, a form) to
    // 127.0.0.1 without a CORS preflight; browsers mark them with Origin. No page needs this API.
    if (req.headers.origin !== undefined) {
      throw new ApiError(
        'forbidden_origin',
        `a page on ${JSON.stringify(req.headers.origin.slice(0, 100))} may not use the DHT API: it answers dream-torrent and dream-cli only`,
      );
    }
    if (opts.isClosing?.()) throw new ApiError('shutting_down', 'dream-dht is stopping');
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.toJSON());
    const e = err as { statusCode?: number; message: string; code?: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // fastify's own 4xx (bad JSON, body too large, wrong content type) map onto invalid_body.
      const code = e.statusCode === 413 ? 'value_too_large' : 'invalid_body';
      return reply.code(API_ERRORS[code].status).send(new ApiError(code, e.message).toJSON());
    }
    return reply.code(500).send(new ApiError('internal', e.message).toJSON());
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send(new ApiError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  app.get('/v1/status', async () => svc.status());

  app.get<{ Params: { infohash: string }; Querystring: { timeout_ms?: string } }>(
    '/v1/peers/:infohash',
    (req, reply) => {
      const ih = hex40(req.params.infohash, 'invalid_infohash', 'infohash');
      let timeoutMs = DEFAULT_FIND_TIMEOUT_MS;
      if (req.query.timeout_ms !== undefined) {
        const t = Number(req.query.timeout_ms);
        if (!/^\d+$/.test(req.query.timeout_ms) || t < MIN_FIND_TIMEOUT_MS || t > MAX_FIND_TIMEOUT_MS) {
          throw new ApiError(
            'invalid_timeout',
            `timeout_ms must be an integer ${MIN_FIND_TIMEOUT_MS}-${MAX_FIND_TIMEOUT_MS}, found ${JSON.stringify(req.query.timeout_ms)}`,
          );
        }
        timeoutMs = t;
      }
      if (streams.size >= MAX_OPEN_LOOKUPS) {
        throw new ApiError('too_many_lookups', `${MAX_OPEN_LOOKUPS} find-peers streams are already open`);
      }
      const out = new PassThrough();
      const seen = new Set<string>();
      let finished = false;
      let abort: () => void = () => {};
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        streams.delete(finish);
        abort();
        out.end();
      };
      // The deadline: whatever was found by then has been streamed; the response simply ends.
      const timer = setTimeout(finish, timeoutMs);
      streams.add(finish);
      reply.raw.on('close', finish);
      abort = svc.lookup(
        ih,
        (p) => {
          const key = `${p.host}:${p.port}`;
          if (finished || seen.has(key)) return;
          seen.add(key);
          out.write(`${JSON.stringify({ host: p.host, port: p.port })}\n`);
        },
        finish,
      );
      reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
      return reply.send(out);
    },
  );

  app.get('/v1/announces', async () => ({ announces: svc.announces() }));

  app.put<{ Params: { infohash: string } }>('/v1/announces/:infohash', async (req) => {
    const ih = hex40(req.params.infohash, 'invalid_infohash', 'infohash').toString('hex');
    const b = body(req.body);
    const port = b.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ApiError(
        'invalid_port',
        `port must be an integer 0-65535 (0: implied port), found ${JSON.stringify(port)}`,
      );
    }
    svc.announce(ih, port);
    return { infohash: ih, port };
  });

  app.delete<{ Params: { infohash: string } }>('/v1/announces/:infohash', async (req, reply) => {
    const ih = hex40(req.params.infohash, 'invalid_infohash', 'infohash').toString('hex');
    svc.unannounce(ih);
    return reply.code(204).send();
  });

  app.post('/v1/immutable', async (req) => {
    const v = value(body(req.body).v);
    return svc.putImmutable(v);
  });

  app.get<{ Params: { target: string } }>('/v1/immutable/:target', async (req) => {
    const target = hex40(req.params.target, 'invalid_target', 'target');
    const v = await svc.getImmutable(target);
    if (!v) throw new ApiError('not_found', `no immutable item ${target.toString('hex')} found`);
    return { v: v.toString('base64') };
  });

  app.put<{ Params: { key: string } }>('/v1/mutable/:key', async (req) => {
    const k = publicKey(req.params.key);
    const b = body(req.body);
    const sig = b.sig;
    if (typeof sig !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sig)) {
      throw new ApiError('invalid_signature', 'body.sig must be the 64-byte ed25519 signature in hex');
    }
    return svc.putMutable({
      publicKey: k,
      value: value(b.v),
      seq: nonNegInt(b.seq, 'seq'),
      signature: Buffer.from(sig, 'hex'),
      salt: salt(b.salt),
      cas: b.cas === undefined ? undefined : nonNegInt(b.cas, 'cas'),
    });
  });

  app.get<{ Params: { key: string }; Querystring: { salt?: string } }>('/v1/mutable/:key', async (req) => {
    const k = publicKey(req.params.key);
    const item = await svc.getMutable(k, salt(req.query.salt));
    if (!item) throw new ApiError('not_found', `no mutable item for key ${k.toString('hex')} found`);
    return {
      v: Buffer.from(item.value).toString('base64'),
      seq: item.seq,
      sig: Buffer.from(item.signature).toString('hex'),
    };
  });

  return {
    app,
    endStreams: () => {
      for (const f of [...streams]) f();
    },
  };
}

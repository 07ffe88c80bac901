/**
 * The catalog API as a fastify plugin, mountable under any prefix (dream-torrent mounts it at
 * /catalog; dream-catalog at the root):
 *
 *   GET    /search?q=&limit=&offset=   ranked title search          200 { total, results: [{ entry, score }] }
 *   GET    /entries/:infohash          one entry                    200 entry | 404
 *   PUT    /entries/:infohash          add or update a signed entry 201 created | 200 updated
 *   DELETE /entries/:infohash          signed deletion              200 { deleted: true }
 *   GET    /recent?limit=              newest entries               200 { entries }
 *
 * Input is checked at this boundary, in order: JSON schema (shape and sizes), entry semantics
 * (entryProblem), the signature, then the ownership/replay policy; only then does the store see it.
 * Every refusal is a 4xx `{ error: { code, message } }` and stores nothing.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  type CatalogEntry,
  entryProblem,
  INFOHASH_RE,
  MAX_CODEC_LENGTH,
  MAX_FILES,
  MAX_MAGNET_LENGTH,
  MAX_PATH_LENGTH,
  MAX_QUERY_LENGTH,
  MAX_RECENT_LIMIT,
  MAX_SEARCH_LIMIT,
  MAX_SEARCH_WINDOW,
} from '../entry.js';
import { type DeleteRequest, verifyDelete, verifyEntry } from '../signing.js';
import type { CatalogStore } from '../store.js';
import { CatalogHttpError, errorBody } from './errors.js';
import { decideDelete, decidePut, SIGNATURE_WINDOW_MS } from './policy.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';

/** Why 1 MiB: MAX_FILES paths of MAX_PATH_LENGTH characters plus a long magnet fit; nothing bigger is an entry. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface CatalogRoutesOptions {
  /** Per client address; `false` turns limiting off (tests, or a proxy that limits already). */
  rateLimit?: { read: RateLimitOptions; write: RateLimitOptions } | false;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  signatureWindowMs?: number;
}

/** Why these: a person searching types a few queries a second; an uploader publishes a handful of videos. */
export const DEFAULT_RATE_LIMIT = {
  read: { burst: 30, perSecond: 10 },
  write: { burst: 20, perSecond: 2 },
};

const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;

const entryBodySchema = {
  type: 'object',
  required: ['infohash', 'title', 'magnet', 'size', 'files', 'createdAt', 'updatedAt', 'publicKey'],
  additionalProperties: false,
  properties: {
    infohash: str(64),
    // Longer than MAX_TITLE_LENGTH on purpose: entryProblem gives the precise message for a long title.
    title: str(4096),
    magnet: str(MAX_MAGNET_LENGTH),
    size: { type: 'integer', minimum: 0 },
    files: {
      type: 'array',
      maxItems: MAX_FILES,
      items: {
        type: 'object',
        required: ['path', 'size'],
        additionalProperties: false,
        properties: { path: str(MAX_PATH_LENGTH), size: { type: 'integer', minimum: 0 } },
      },
    },
    durationSeconds: { type: 'number' },
    codec: str(MAX_CODEC_LENGTH),
    createdAt: str(64),
    updatedAt: str(64),
    publicKey: str(256),
    signature: str(512),
  },
} as const;

const deleteBodySchema = {
  type: 'object',
  required: ['infohash', 'publicKey', 'signedAt'],
  additionalProperties: false,
  properties: { infohash: str(64), publicKey: str(256), signedAt: str(64), signature: str(512) },
} as const;

const paramsSchema = {
  type: 'object',
  required: ['infohash'],
  properties: { infohash: str(128) },
} as const;

function checkInfohash(infohash: string): string {
  if (!INFOHASH_RE.test(infohash)) {
    throw new CatalogHttpError(
      'invalid_infohash',
      `infohash must be 40 lowercase hexadecimal characters, found ${JSON.stringify(infohash.slice(0, 64))}`,
    );
  }
  return infohash;
}

/** Serialises writes per infohash, so check-then-write is atomic within this process. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export function catalogRoutes(store: CatalogStore, opts: CatalogRoutesOptions = {}): FastifyPluginAsync {
  const now = opts.now ?? Date.now;
  const windowMs = opts.signatureWindowMs ?? SIGNATURE_WINDOW_MS;
  const limits = opts.rateLimit === undefined ? DEFAULT_RATE_LIMIT : opts.rateLimit;
  const readLimiter = limits ? new RateLimiter(limits.read) : undefined;
  const writeLimiter = limits ? new RateLimiter(limits.write) : undefined;
  const mutex = new KeyedMutex();

  const limit = (limiter: RateLimiter | undefined) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!limiter) return;
    const wait = limiter.take(req.ip, now());
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new CatalogHttpError('rate_limited', `too many requests from ${req.ip}: retry in ${wait} s`);
    }
  };
  const readLimit = limit(readLimiter);
  const writeLimit = limit(writeLimiter);

  return async (app) => {
    // JSON only: a text/plain body would otherwise reach the schema as a string.
    app.removeContentTypeParser('text/plain');
    app.setErrorHandler((err: FastifyError | CatalogHttpError, req, reply) => {
      if (err instanceof CatalogHttpError)
        return reply.code(err.status).send(errorBody(err.code, err.message));
      const fe = err as FastifyError;
      if (fe.validation) return reply.code(400).send(errorBody('bad_request', fe.message));
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply
          .code(413)
          .send(errorBody('payload_too_large', `request body is larger than ${MAX_BODY_BYTES} bytes`));
      }
      if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return reply.code(415).send(errorBody('unsupported_media_type', 'send the body as application/json'));
      }
      // The Elasticsearch client's transport errors: the store is down, not the request wrong.
      if (['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError'].includes((err as Error).name)) {
        req.log.error({ err }, 'catalog store unreachable');
        return reply
          .code(503)
          .send(errorBody('store_unavailable', 'the catalog store is unreachable; retry later'));
      }
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return reply.code(fe.statusCode).send(errorBody('bad_request', fe.message));
      }
      req.log.error({ err }, 'catalog request failed');
      return reply.code(500).send(errorBody('internal', 'internal error (logged on the server)'));
    });

    app.get<{ Querystring: { q: string; limit?: number; offset?: number } }>(
      '/search',
      {
        onRequest: readLimit,
        schema: {
          querystring: {
            type: 'object',
            required: ['q'],
            properties: {
              q: { type: 'string', minLength: 1, maxLength: MAX_QUERY_LENGTH },
              limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT },
              offset: { type: 'integer', minimum: 0, maximum: MAX_SEARCH_WINDOW },
            },
          },
        },
      },
      async (req) => {
        const { q, limit = 20, offset = 0 } = req.query;
        if (offset + limit > MAX_SEARCH_WINDOW) {
          throw new CatalogHttpError('invalid_page', `offset + limit must be at most ${MAX_SEARCH_WINDOW}`);
        }
        return store.search(q, { limit, offset });
      },
    );

    app.get<{ Querystring: { limit?: number } }>(
      '/recent',
      {
        onRequest: readLimit,
        schema: {
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_RECENT_LIMIT } },
          },
        },
      },
      async (req) => ({ entries: await store.recent(req.query.limit ?? 20) }),
    );

    app.get<{ Params: { infohash: string } }>(
      '/entries/:infohash',
      { onRequest: readLimit, schema: { params: paramsSchema } },
      async (req) => {
        const infohash = checkInfohash(req.params.infohash);
        const entry = await store.get(infohash);
        if (!entry) throw new CatalogHttpError('not_found', `no entry with infohash ${infohash}`);
        return entry;
      },
    );

    app.put<{ Params: { infohash: string }; Body: CatalogEntry }>(
      '/entries/:infohash',
      {
        onRequest: writeLimit,
        bodyLimit: MAX_BODY_BYTES,
        schema: { params: paramsSchema, body: entryBodySchema },
      },
      async (req, reply) => {
        const infohash = checkInfohash(req.params.infohash);
        const entry = req.body;
        if (entry.infohash !== infohash) {
          throw new CatalogHttpError(
            'infohash_mismatch',
            `the URL names ${infohash} but the body is entry ${entry.infohash}`,
          );
        }
        const problem = entryProblem(entry);
        if (problem) throw new CatalogHttpError(problem.code, problem.message);
        if (!verifyEntry(entry)) {
          throw new CatalogHttpError(
            'bad_signature',
            'the signature does not match this entry and public key',
          );
        }
        const result = await mutex.run(infohash, async () => {
          const refusal = decidePut(
            entry,
            await store.get(infohash),
            await store.lastDeleted(infohash),
            now(),
            windowMs,
          );
          if (refusal) throw refusal;
          return store.put(entry);
        });
        reply.code(result === 'created' ? 201 : 200);
        return { result, infohash };
      },
    );

    app.delete<{ Params: { infohash: string }; Body: DeleteRequest }>(
      '/entries/:infohash',
      {
        onRequest: writeLimit,
        bodyLimit: 16 * 1024,
        schema: { params: paramsSchema, body: deleteBodySchema },
      },
      async (req) => {
        const infohash = checkInfohash(req.params.infohash);
        const d = req.body;
        if (d.infohash !== infohash) {
          throw new CatalogHttpError(
            'infohash_mismatch',
            `the URL names ${infohash} but the body deletes ${d.infohash}`,
          );
        }
        if (!/^[0-9a-f]{64}$/.test(d.publicKey)) {
          throw new CatalogHttpError(
            'invalid_public_key',
            'publicKey must be an ed25519 public key as 64 lowercase hex characters',
          );
        }
        if (!d.signature)
          throw new CatalogHttpError(
            'missing_signature',
            'the deletion is not signed (signature is missing)',
          );
        if (
          !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(d.signedAt) ||
          Number.isNaN(Date.parse(d.signedAt))
        ) {
          throw new CatalogHttpError(
            'invalid_time',
            'signedAt must be an ISO 8601 UTC time like 2026-01-31T12:00:00.000Z',
          );
        }
        if (!verifyDelete(d)) {
          throw new CatalogHttpError(
            'bad_signature',
            'the signature does not match this deletion and public key',
          );
        }
        await mutex.run(infohash, async () => {
          const refusal = decideDelete(d, await store.get(infohash), now(), windowMs);
          if (refusal) throw refusal;
          await store.delete(infohash, d.signedAt);
        });
        return { deleted: true, infohash };
      },
    );
  };
}

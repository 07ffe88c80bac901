/**
 * The control API (docs/design/engine.md#control-api): JSON over HTTP on 127.0.0.1 for dream-cli
 * and the web UI. A fastify plugin, so the same server can also carry the stream routes.
 * Every error is {error: {code, message}} with a code from ENGINE_ERROR_CODES.
 */
import type { Logger } from '@dream/config';
import { isSameOrigin } from '@dream/http-stream';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { PeerAddress } from '../bitfield.js';
import type { HashedContent } from '../create/index.js';
import type { AddInput, AddOptions, Engine } from '../engine/engine.js';
import { ENGINE_ERROR_CODES, EngineError, type EngineErrorCode } from '../engine/errors.js';
import { MAX_FILES } from '../metainfo/index.js';
import { allowedHostnames, hostAllowed } from './host-check.js';

export interface ControlApiOptions {
  /** stream.host: the address the server binds; its name is accepted in Host besides loopback. */
  bindHost: string;
  /** Where unexpected (500) errors are logged. */
  log?: Logger;
}

/** Largest request body: a .torrent in base64 (E1 caps metainfo far below this). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

function sendError(reply: FastifyReply, code: EngineErrorCode, message: string): FastifyReply {
  return reply.code(ENGINE_ERROR_CODES[code]).send({ error: { code, message } });
}

export function controlApi(engine: Engine, opts: ControlApiOptions): FastifyPluginAsync {
  const allowed = allowedHostnames(opts.bindHost);
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', async (req, reply) => {
      if (!hostAllowed(req.headers.host, allowed)) {
        return sendError(
          reply,
          'forbidden-host',
          `Host "${req.headers.host ?? ''}" is not served here; use 127.0.0.1`,
        );
      }
      // dream-cli sends no Origin; a page may drive the engine only when this server served it,
      // whatever stream.cors_origins lets other pages read of the streams.
      if (!isSameOrigin(req.headers.origin, req.headers.host)) {
        return sendError(
          reply,
          'forbidden-origin',
          `a page on ${JSON.stringify(req.headers.origin?.slice(0, 100))} may not use the control API: ` +
            'it answers dream-cli and pages served by this dream-torrent only',
        );
      }
    });

    app.setErrorHandler((err: FastifyError | EngineError, _req, reply) => {
      if (err instanceof EngineError) return sendError(reply, err.code, err.message);
      const fe = err as FastifyError;
      if (fe.statusCode && fe.statusCode < 500) {
        return sendError(reply, 'bad-request', fe.message);
      }
      opts.log?.error({ err }, 'control API error');
      return sendError(reply, 'internal', 'internal error; see the dream-torrent log');
    });
    app.setNotFoundHandler((req, reply) =>
      sendError(reply, 'not-found', `no route ${req.method} ${req.url}`),
    );

    app.get('/api/health', async () => ({
      ok: true,
      torrents: engine.list().length,
      connections: engine.connectionCount(),
      port: engine.port,
    }));

    app.post('/api/torrents', async (req, reply) => {
      const body = asObject(req.body);
      const options: AddOptions = {};
      if (body.paused !== undefined) options.paused = Boolean(body.paused);
      if (body.selected !== undefined) options.selected = parseSelection(body.selected);
      if (body.peers !== undefined) options.peers = parsePeers(body.peers);
      if (body.durationSeconds !== undefined) options.durationSeconds = parseDuration(body.durationSeconds);
      const kinds = ['magnet', 'infohash', 'torrent', 'path'].filter((k) => body[k] !== undefined);
      // torrent + path together: seed that torrent from that file or folder, in place.
      const seedInPlace = kinds.length === 2 && kinds.includes('torrent') && kinds.includes('path');
      if (kinds.length !== 1 && !seedInPlace) {
        throw new EngineError(
          'bad-request',
          'give exactly one of magnet, infohash, torrent, path (or torrent with path)',
        );
      }
      let input: AddInput;
      if (typeof body.magnet === 'string') input = { magnet: body.magnet };
      else if (typeof body.infohash === 'string') input = { infohash: body.infohash };
      else if (typeof body.torrent === 'string') {
        if (!/^[A-Za-z0-9+/=\s]*$/.test(body.torrent))
          throw new EngineError('invalid-torrent', 'torrent must be base64');
        const torrent = Buffer.from(body.torrent, 'base64');
        if (seedInPlace && typeof body.path !== 'string')
          throw new EngineError('bad-request', 'path must be a string');
        // hashed without path: the engine refuses it (seeding in place is what it is for).
        input = {
          torrent,
          ...(seedInPlace ? { path: body.path as string } : {}),
          ...(body.hashed !== undefined ? { hashed: parseHashed(body.hashed) } : {}),
        };
      } else if (typeof body.path === 'string') {
        input = typeof body.name === 'string' ? { path: body.path, name: body.name } : { path: body.path };
      } else throw new EngineError('bad-request', `${kinds[0]} must be a string`);
      const summary = await engine.add(input, options);
      return reply.code(201).send(summary);
    });

    app.get('/api/torrents', async () => ({ torrents: engine.list() }));

    app.get<{ Params: { infohash: string } }>('/api/torrents/:infohash', async (req) =>
      engine.detail(req.params.infohash),
    );

    app.put<{ Params: { infohash: string } }>('/api/torrents/:infohash/files', async (req) => {
      const body = asObject(req.body);
      if (body.paths !== undefined)
        return engine.selectFilePaths(req.params.infohash, parsePaths(body.paths));
      return engine.selectFiles(req.params.infohash, parseSelection(body.selected));
    });

    app.post<{ Params: { infohash: string } }>('/api/torrents/:infohash/pause', async (req) =>
      engine.pause(req.params.infohash),
    );
    app.post<{ Params: { infohash: string } }>('/api/torrents/:infohash/resume', async (req) =>
      engine.resume(req.params.infohash),
    );

    app.delete<{ Params: { infohash: string }; Querystring: { deleteData?: string } }>(
      '/api/torrents/:infohash',
      async (req, reply) => {
        const d = req.query.deleteData;
        if (d !== undefined && d !== 'true' && d !== 'false') {
          throw new EngineError('bad-request', 'deleteData is true or false');
        }
        await engine.remove(req.params.infohash, { deleteData: d === 'true' });
        return reply.code(204).send();
      },
    );

    // Rate limits (docs/design/swarm.md#rate-limits): {upload, download} in bytes/s, 0 = unlimited;
    // a PUT may give either key alone.
    app.get('/api/limits', async () => engine.limits());
    app.put('/api/limits', async (req) => engine.setLimits(parseLimits(req.body)));
    app.get<{ Params: { infohash: string } }>('/api/torrents/:infohash/limits', async (req) =>
      engine.torrentLimits(req.params.infohash),
    );
    app.put<{ Params: { infohash: string } }>('/api/torrents/:infohash/limits', async (req) =>
      engine.setTorrentLimits(req.params.infohash, parseLimits(req.body)),
    );

    app.post<{ Params: { infohash: string } }>('/api/torrents/:infohash/peers', async (req) => {
      const body = asObject(req.body);
      const peers = body.peers !== undefined ? parsePeers(body.peers) : parsePeers([body]);
      return { added: engine.addPeers(req.params.infohash, peers) };
    });
  };
}

/** Longest duration accepted: a week (the duration probe's bound too). */
const MAX_DURATION_SECONDS = 7 * 24 * 3600;

function parseDuration(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_DURATION_SECONDS) {
    throw new EngineError(
      'bad-request',
      `durationSeconds must be a number of seconds above 0 and at most ${MAX_DURATION_SECONDS}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EngineError('bad-request', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function parseLimits(body: unknown): { upload?: number; download?: number } {
  const o = asObject(body);
  const extra = Object.keys(o).filter((k) => k !== 'upload' && k !== 'download');
  if (extra.length > 0)
    throw new EngineError('bad-request', `unknown key ${extra[0]}: give upload and/or download`);
  if (o.upload === undefined && o.download === undefined) {
    throw new EngineError('bad-request', 'give upload and/or download, in bytes per second (0 = unlimited)');
  }
  const out: { upload?: number; download?: number } = {};
  for (const k of ['upload', 'download'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number')
      throw new EngineError('bad-request', `${k} must be a number of bytes per second`);
    out[k] = v;
  }
  return out;
}

function parseSelection(v: unknown): number[] | 'all' {
  if (v === 'all') return 'all';
  if (Array.isArray(v) && v.every((i) => Number.isInteger(i) && i >= 0)) return v as number[];
  throw new EngineError('invalid-selection', 'selected is "all" or an array of file indices (0, 1, …)');
}

function parsePaths(v: unknown): string[] {
  if (Array.isArray(v) && v.length <= MAX_FILES && v.every((p) => typeof p === 'string'))
    return v as string[];
  throw new EngineError('invalid-selection', `paths is an array of at most ${MAX_FILES} file paths`);
}

/** `hashed` of a seed-in-place add: createTorrent's verdict on the files it just read. */
function parseHashed(v: unknown): HashedContent {
  const bad = (why: string) =>
    new EngineError(
      'bad-request',
      `hashed: ${why} (give what createTorrent returned as resume: have, files)`,
    );
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected an object');
  const { have, files } = v as Record<string, unknown>;
  if (typeof have !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(have)) throw bad('have must be base64');
  // A torrent has at most MAX_FILES files: a longer list cannot describe one.
  if (!Array.isArray(files) || files.length > MAX_FILES) {
    throw bad(`files must be an array of at most ${MAX_FILES} {path, size, mtimeMs}`);
  }
  return {
    have,
    files: files.map((f, i) => {
      const o = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
      if (typeof o.path !== 'string' || !Number.isFinite(o.size) || !Number.isFinite(o.mtimeMs))
        throw bad(`files[${i}] must be {path: string, size: number, mtimeMs: number}`);
      return { path: o.path, size: o.size as number, mtimeMs: o.mtimeMs as number };
    }),
  };
}

function parsePeers(v: unknown): PeerAddress[] {
  if (!Array.isArray(v) || v.length > 200) {
    throw new EngineError('invalid-peer', 'peers is an array of at most 200 {host, port} or "host:port"');
  }
  return v.map((p) => {
    if (typeof p === 'string') {
      const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(p);
      if (!m?.[1] || !m[2]) throw new EngineError('invalid-peer', `"${p}" is not host:port`);
      return checkPeer({ host: m[1], port: Number(m[2]) });
    }
    if (typeof p !== 'object' || p === null) throw new EngineError('invalid-peer', 'a peer is {host, port}');
    const o = p as Record<string, unknown>;
    return checkPeer({ host: o.host as string, port: o.port as number });
  });
}

function checkPeer(p: PeerAddress): PeerAddress {
  if (typeof p.host !== 'string' || p.host.length === 0 || p.host.length > 253 || /[\s/]/.test(p.host)) {
    throw new EngineError(
      'invalid-peer',
      `peer host ${JSON.stringify(p.host)} is not a host name or address`,
    );
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    throw new EngineError('invalid-peer', `peer port ${JSON.stringify(p.port)} is not 1..65535`);
  }
  return p;
}

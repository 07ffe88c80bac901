/**
 * The stream routes, as a fastify plugin over a StreamSource:
 *   GET|HEAD /stream/<infohash>/<index | percent-encoded path>   the file's bytes (Range, If-Range, ...)
 *   GET      /stream/<infohash>/   (or without the slash)        JSON listing of the torrent's files
 *   GET      /stream/<infohash>.m3u                              playlist of its audio/video files
 * See docs/design/http-range.md.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { bodyStream } from './body.js';
import { contentTypeFor, isMedia } from './content-type.js';
import { crossSiteGuard } from './cross-site.js';
import { type ErrorCode, type HttpProblem, problem, SourceNotReady } from './errors.js';
import { planResponse } from './plan.js';
import { fileUrlPart, parseFileSelector, parseInfohash } from './target.js';
import type { SeekableFile, StreamSource } from './types.js';

export interface StreamRoutesOptions {
  /**
   * Absolute base for the URLs in listings and playlists, e.g. 'http://127.0.0.1:8888'. By default
   * they are built from the request's Host header (which the host guard has vetted).
   */
  baseUrl?: string;
  /** stream.cors_origins: the only other sites whose pages may use the streams (src/cross-site.ts). */
  corsOrigins?: readonly string[];
}

export interface FileEntry {
  index: number;
  path: string;
  size: number;
  type: string;
  url: string;
}

export interface FileListing {
  infohash: string;
  name: string | undefined;
  files: FileEntry[];
}

function sendProblem(reply: FastifyReply, p: HttpProblem): FastifyReply {
  return reply.code(p.status).send(p.body);
}

function isProblem(x: unknown): x is HttpProblem {
  return typeof x === 'object' && x !== null && 'status' in x && 'body' in x;
}

/** The path part of the raw request target, still percent-encoded (the query is dropped). */
function rawPath(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function streamRoutes(source: StreamSource, opts: StreamRoutesOptions = {}): FastifyPluginAsync {
  const fixedBase = opts.baseUrl?.replace(/\/+$/, '');
  const baseOf = (request: FastifyRequest): string => fixedBase ?? `${request.protocol}://${request.host}`;

  async function filesOf(
    infohashText: string,
  ): Promise<{ infohash: string; files: SeekableFile[] } | HttpProblem> {
    const infohash = parseInfohash(infohashText);
    if (infohash === undefined) {
      return problem('BAD_INFOHASH', 'an infohash is 40 hexadecimal digits or 32 base32 characters');
    }
    let files: SeekableFile[] | undefined;
    try {
      files = await source.files(infohash);
    } catch (err) {
      if (err instanceof SourceNotReady) return problem('NOT_READY', err.message);
      throw err;
    }
    if (files === undefined) return problem('UNKNOWN_TORRENT', `no torrent ${infohash} is loaded`);
    return { infohash, files };
  }

  async function listing(
    request: FastifyRequest,
    prefix: string,
    infohashText: string,
  ): Promise<FileListing | HttpProblem> {
    const found = await filesOf(infohashText);
    if (isProblem(found)) return found;
    const base = `${baseOf(request)}${prefix}/stream/${found.infohash}/`;
    return {
      infohash: found.infohash,
      name: source.name?.(found.infohash),
      files: found.files.map((f, index) => ({
        index,
        path: f.path,
        size: f.size,
        type: contentTypeFor(f.path),
        url: base + fileUrlPart(index, f.path),
      })),
    };
  }

  return async (app) => {
    // Here, not only in buildStreamApp: a host app (dream-torrent's daemon) mounts these routes
    // beside its own, and its handler does not know our catalogue.
    app.setErrorHandler(streamErrorHandler);
    app.addHook('onRequest', crossSiteGuard(opts.corsOrigins ?? []));
    // Registered under a prefix (e.g. { prefix: '/api' }), URLs we generate must carry it.
    const prefix = app.prefix;
    const fileRoute = `${prefix}/stream/`;
    // /stream/<infohash>.m3u, and /stream/<infohash> (no slash) as the listing.
    app.get('/stream/:name', async (request, reply) => {
      const name = (request.params as { name: string }).name;
      if (!name.toLowerCase().endsWith('.m3u')) {
        const list = await listing(request, prefix, name);
        return isProblem(list) ? sendProblem(reply, list) : list;
      }
      const list = await listing(request, prefix, name.slice(0, -'.m3u'.length));
      if (isProblem(list)) return sendProblem(reply, list);
      return reply.type('audio/x-mpegurl; charset=utf-8').send(playlist(list));
    });

    app.route({
      method: ['GET', 'HEAD'],
      url: '/stream/*',
      // We answer HEAD ourselves: fastify's automatic HEAD would run GET and open a reader.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        // Parse the raw target: the router decodes parameters, and we must see %2e%2e and %00 as sent.
        const raw = rawPath(request);
        // The router matched a decoded form; a prefix sent percent-encoded is not worth untangling.
        if (!raw.startsWith(fileRoute)) {
          return sendProblem(reply, problem('BAD_PATH', `the URL must start with ${fileRoute} unencoded`));
        }
        const rest = raw.slice(fileRoute.length);
        const slash = rest.indexOf('/');
        const infohashText = slash < 0 ? rest : rest.slice(0, slash);
        const fileText = slash < 0 ? '' : rest.slice(slash + 1);
        if (fileText === '') {
          const list = await listing(request, prefix, infohashText);
          return isProblem(list) ? sendProblem(reply, list) : list;
        }
        const selector = parseFileSelector(fileText);
        if (isProblem(selector)) return sendProblem(reply, selector);
        const found = await filesOf(infohashText);
        if (isProblem(found)) return sendProblem(reply, found);
        const file =
          selector.kind === 'index'
            ? found.files[selector.index]
            : found.files.find((f) => f.path === selector.path);
        if (file === undefined) {
          const what = selector.kind === 'index' ? `index ${selector.index}` : `path "${selector.path}"`;
          return sendProblem(
            reply,
            problem('FILE_NOT_FOUND', `torrent ${found.infohash} has no file with ${what}`),
          );
        }
        return serveFile(request, reply, file);
      },
    });
  };
}

// 24 random bytes in base64url: 32 boundary characters that no file plausibly contains.
const newBoundary = (): string => `dream-${randomBytes(24).toString('base64url')}`;

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function serveFile(request: FastifyRequest, reply: FastifyReply, file: SeekableFile): FastifyReply {
  const method = request.method === 'HEAD' ? 'HEAD' : 'GET';
  const plan = planResponse(
    file,
    {
      method,
      range: header(request, 'range'),
      'if-range': header(request, 'if-range'),
      'if-match': header(request, 'if-match'),
      'if-none-match': header(request, 'if-none-match'),
    },
    newBoundary(),
  );
  if (plan.body.kind === 'error') return reply.code(plan.status).headers(plan.headers).send(plan.body.body);
  if (method === 'HEAD') return reply.code(plan.status).headers(plan.headers).send();
  const controller = new AbortController();
  const res = reply.raw;
  // The client went away before the body was complete: cancel the reader at once, so a torrent
  // engine stops fetching for a viewer who is gone.
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  // Opened before the headers are set: if the reader throws, the error handler answers a clean 500.
  const stream = bodyStream(file, plan.body, controller.signal);
  return reply
    .code(plan.status)
    .headers(plan.headers)
    .send(stream ?? undefined);
}

/** Strip characters that would break an M3U line (a torrent path may contain anything). */
function m3uText(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we remove
  return s.replace(/[\x00-\x1f\x7f]/g, ' ');
}

/** Extended M3U with absolute, percent-encoded URLs; audio/video files only, or all if none is. */
export function playlist(list: FileListing): string {
  const media = list.files.filter((f) => isMedia(f.path));
  const entries = media.length > 0 ? media : list.files;
  let out = '#EXTM3U\n';
  if (list.name !== undefined) out += `#PLAYLIST:${m3uText(list.name)}\n`;
  for (const f of entries) out += `#EXTINF:-1,${m3uText(f.path)}\n${f.url}\n`;
  return out;
}

/** Fastify's own client errors (bad URL, bad header) and readers' statusCode mapped onto our catalogue. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 410) return 'GONE';
  if (status >= 400 && status < 500) return 'BAD_PATH';
  return 'INTERNAL';
}

/** Every error as `{"error":{"code","message"}}`; a 5xx is logged and its details kept out of the body. */
export function streamErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode ?? 500;
  if (status >= 500) request.log.error({ err: error }, 'stream request failed');
  const p = problem(codeForStatus(status), status >= 500 ? 'internal error' : error.message);
  // A reader that failed before its first byte leaves the headers planned for the file on the
  // reply (Content-Length 1 for `bytes=0-0`): they would cut the error body short or mislabel it.
  for (const name of [
    'content-length',
    'content-range',
    'content-type',
    'content-disposition',
    'etag',
    'last-modified',
  ])
    reply.removeHeader(name);
  return reply.code(status).send(p.body);
}

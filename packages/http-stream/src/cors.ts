/**
 * CORS, off unless configured. A browser page may read our streams only when its exact Origin is in
 * `stream.cors_origins`; there is no `*` unless the user writes `*` there themselves. Without CORS a
 * page can still embed a <video src>, which is no leak: it cannot read the bytes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Headers a page's script may read; Content-Range and ETag matter to players written in JS. */
const EXPOSE = 'Accept-Ranges, Content-Length, Content-Range, Content-Type, ETag';
const ALLOW_HEADERS = 'Range, If-Range, If-Match, If-None-Match';
/** How long a browser may cache a preflight answer, in seconds (10 minutes). */
const PREFLIGHT_MAX_AGE = '600';

/** The Access-Control-Allow-Origin value for this Origin, or undefined when it is not allowed. */
export function allowedOrigin(origin: string | undefined, origins: readonly string[]): string | undefined {
  if (origin === undefined || origins.length === 0) return undefined;
  if (origins.includes('*')) return '*';
  return origins.includes(origin) ? origin : undefined;
}

/**
 * Adds CORS answers to every route of `app` (call before registering routes), and answers preflight
 * OPTIONS requests. Does nothing when `origins` is empty.
 */
export function installCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The answer depends on Origin: shared caches must not mix answers for different pages.
    reply.header('vary', 'Origin');
    const allow = allowedOrigin(request.headers.origin, origins);
    if (allow === undefined) return;
    reply.header('access-control-allow-origin', allow);
    reply.header('access-control-expose-headers', EXPOSE);
  });
  app.options('*', async (request, reply) => {
    const allow = allowedOrigin(request.headers.origin, origins);
    if (allow !== undefined) {
      reply.header('access-control-allow-methods', 'GET, HEAD, OPTIONS');
      reply.header('access-control-allow-headers', ALLOW_HEADERS);
      reply.header('access-control-max-age', PREFLIGHT_MAX_AGE);
      // Chrome's Private Network Access preflight, for an allowed public page reading loopback.
      if (request.headers['access-control-request-private-network'] === 'true') {
        reply.header('access-control-allow-private-network', 'true');
      }
    }
    return reply.code(204).send();
  });
}

/**
 * A ready-to-listen stream server: fastify + host guard + optional CORS + the stream routes, with
 * every error (ours and the framework's) answered as `{"error":{"code","message"}}`.
 */
import type { Logger } from '@dream/config';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { installCors } from './cors.js';
import { problem } from './errors.js';
import { hostGuard } from './host-guard.js';
import { codeForStatus, streamErrorHandler, streamRoutes } from './routes.js';
import type { StreamSource } from './types.js';

export interface StreamServerOptions {
  /** Address to bind; stream.host, 127.0.0.1 by default in the config. */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from `url`). */
  port: number;
  /** Origins allowed to read streams from scripts (stream.cors_origins); none by default. */
  corsOrigins?: string[];
  /** Host names, besides loopback and the bound host, that clients may use (e.g. a LAN name). */
  allowedHosts?: string[];
  logger?: Logger;
}

export interface StreamServer {
  app: FastifyInstance;
  /** Base URL, e.g. 'http://127.0.0.1:8888' or 'http://[::1]:8888'. */
  url: string;
  close(): Promise<void>;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

export function buildStreamApp(
  source: StreamSource,
  opts: Omit<StreamServerOptions, 'port'>,
): FastifyInstance {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    // Player requests are long-lived streams; the per-request log line is noise at info level.
    logController: new LogController({ disableRequestLogging: true }),
    // Paths in torrents are long; our own MAX_PATH_BYTES check answers with a clear error instead.
    routerOptions: { maxParamLength: 16_384 },
    // A player may keep a connection open while paused; never cut a response for being slow.
    connectionTimeout: 0,
    requestTimeout: 0,
    frameworkErrors: (error, _request, reply) => {
      const p = problem(codeForStatus(error.statusCode ?? 400), error.message);
      (reply as FastifyReply).code(error.statusCode ?? p.status).send(p.body);
    },
  });
  // A wildcard bind address is not a name anyone reaches us by ('0.0.0.0' in a Host header is the
  // "0.0.0.0 day" trick), so only a specific bound address joins the allowed names.
  const bound = WILDCARD_HOSTS.has(opts.host) ? [] : [opts.host];
  app.addHook('onRequest', hostGuard([...bound, ...(opts.allowedHosts ?? [])]));
  installCors(app, opts.corsOrigins ?? []);
  app.setNotFoundHandler((request, reply) => {
    const p = problem('NOT_FOUND', `no route for ${request.method} ${request.url.slice(0, 200)}`);
    return reply.code(p.status).send(p.body);
  });
  // Errors before routing (fastify's malformed-URL errors); the routes carry the same handler.
  app.setErrorHandler(streamErrorHandler);
  app.register(streamRoutes(source, { corsOrigins: opts.corsOrigins ?? [] }));
  return app;
}

export async function createStreamServer(
  source: StreamSource,
  opts: StreamServerOptions,
): Promise<StreamServer> {
  const app = buildStreamApp(source, opts);
  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    app,
    url: `http://${host}:${port}`,
    close: async () => {
      // Streams to players never end on their own: cut them so close() returns promptly.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

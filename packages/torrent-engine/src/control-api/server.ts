/**
 * The HTTP server of dream-torrent on stream.host:stream.port: the control API now, the stream
 * routes (issue 4) later on the same instance.
 */
import type { Logger } from '@dream/config';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { controlApi, MAX_BODY_BYTES } from './routes.js';

export interface ControlServerOptions {
  host: string;
  port: number;
  log?: Logger;
}

/** Builds the server with the control API registered (not listening: call listen, or inject in tests). */
export async function buildControlServer(
  engine: Engine,
  opts: { bindHost: string; log?: Logger },
): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
  });
  await app.register(controlApi(engine, { bindHost: opts.bindHost, log: opts.log }));
  return app;
}

/** Builds and listens; a clear error when the port is taken. */
export async function startControlServer(
  engine: Engine,
  opts: ControlServerOptions,
): Promise<FastifyInstance> {
  const app = await buildControlServer(engine, { bindHost: opts.host, log: opts.log });
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `stream.port ${opts.port} on ${opts.host} is already in use: is another dream-torrent running? Stop it or set stream.port`,
      );
    }
    throw err;
  }
  return app;
}

/**
 * Pages on other sites may not use the streams unless the user named them in `stream.cors_origins`.
 * CORS alone does not stop them: a page anywhere can put `<video src="http://127.0.0.1:6882/stream/
 * <infohash>/0">` in itself, and although it cannot read the bytes, the media element's events tell
 * it whether this computer has that torrent (a 404 fails at once, a 200 plays): a list of infohashes
 * is enough to learn what someone watches, and each probe makes the engine fetch. Browsers label
 * every request with Fetch Metadata (`Sec-Fetch-Site`), so such a request is recognised and refused
 * before any route or reader runs. Not refused: requests without the header (mpv, VLC, curl,
 * dream-cli, older browsers), the same site (this server's own web UI; a page on another port of
 * 127.0.0.1), a URL the user typed or opened (`none`) or a link they followed (`navigate`), and a
 * page whose origin is in `stream.cors_origins`, known by its Origin (CORS requests, `<video
 * crossorigin>`) or by its Referer (a plain `<video src>` sends the page's origin there unless the
 * page withholds it).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem } from './errors.js';

export interface FetchMetadata {
  'sec-fetch-site'?: string | string[] | undefined;
  'sec-fetch-mode'?: string | string[] | undefined;
  origin?: string | string[] | undefined;
  referer?: string | string[] | undefined;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const o = new URL(url).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
}

/** Pure: may a request with these headers use the streams, given stream.cors_origins? */
export function crossSiteAllowed(headers: FetchMetadata, corsOrigins: readonly string[]): boolean {
  if (one(headers['sec-fetch-site']) !== 'cross-site') return true;
  if (one(headers['sec-fetch-mode']) === 'navigate') return true;
  if (corsOrigins.includes('*')) return true;
  const page = one(headers.origin) ?? originOf(one(headers.referer));
  return page !== undefined && corsOrigins.includes(page);
}

/** A fastify onRequest hook answering 403 CROSS_SITE to what crossSiteAllowed refuses. */
export function crossSiteGuard(corsOrigins: readonly string[]) {
  return async function dreamCrossSiteGuard(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    if (crossSiteAllowed(request.headers, corsOrigins)) return undefined;
    const p = problem(
      'CROSS_SITE',
      'a page on another site may not use the streams; to allow one, add its origin to stream.cors_origins',
    );
    return reply.code(p.status).send(p.body);
  };
}

/**
 * The web UI (docs/design/web-ui.md): three static files from packages/torrent-engine/web, served at
 * `/` and `/ui/` by dream-torrent's server. The page is a client of the control API and the stream
 * routes on the same origin, which is what lets it past the control API's Origin check.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';

/** From src/web-ui and from dist/web-ui alike: the package's web folder. */
const WEB_DIR = new URL('../../web/', import.meta.url);

const ASSETS = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
} as const;

/**
 * Torrent names are written by whoever made the torrent. The page sets them as text only; this
 * policy is the second wall: no inline script, no other origin for anything, no framing (a page
 * on another site cannot overlay our buttons), forms post only here.
 */
export const WEB_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "media-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function webUi(): FastifyPluginAsync {
  return async (app) => {
    const bodies = new Map<string, Buffer>();
    for (const { file } of Object.values(ASSETS)) bodies.set(file, await readFile(new URL(file, WEB_DIR)));
    for (const [path, { file, type }] of Object.entries(ASSETS)) {
      app.get(path, async (_request, reply) =>
        reply
          .type(type)
          .header('content-security-policy', WEB_UI_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          // Small, and must follow an upgrade of dream-torrent at once.
          .header('cache-control', 'no-cache')
          .send(bodies.get(file)),
      );
    }
  };
}

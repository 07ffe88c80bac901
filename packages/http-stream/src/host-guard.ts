/**
 * DNS rebinding defence. A web page on evil.example can make its own name resolve to 127.0.0.1 and
 * then read our loopback server from the victim's browser; the only thing that betrays it is the Host
 * header, which still says evil.example. So we answer only to the names we are known by.
 * Exported for every Dream HTTP server (stream, control API, catalog).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem } from './errors.js';

/** Always allowed: the loopback names, which a rebinding attack cannot put in a Host header. */
export const LOOPBACK_HOSTNAMES = ['127.0.0.1', 'localhost', '::1'] as const;

/** Lowercase, without brackets or trailing dot: '[::1]' -> '::1', 'LocalHost.' -> 'localhost'. */
export function normalizeHostname(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** The hostname of a Host header value (`name`, `name:port`, `[v6]`, `[v6]:port`), or undefined. */
export function hostnameOf(hostHeader: string): string | undefined {
  const h = hostHeader.trim();
  if (h === '') return undefined;
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    if (close < 0) return undefined;
    const rest = h.slice(close + 1);
    if (rest !== '' && !/^:[0-9]{1,5}$/.test(rest)) return undefined;
    return normalizeHostname(h.slice(0, close + 1));
  }
  const m = /^([^:\s/@]+)(?::[0-9]{1,5})?$/.exec(h);
  return m ? normalizeHostname(m[1]!) : undefined;
}

/** Pure check: does this Host header name a host we answer for? */
export function isAllowedHost(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (hostHeader === undefined) return false;
  const name = hostnameOf(hostHeader);
  return name !== undefined && allowed.has(name);
}

/**
 * Pure check against cross-site requests: is this request's `Origin` (sent by browsers with every
 * POST, PUT, DELETE and every CORS request) the origin of the server it reached, `http://<Host>`?
 * No Origin means no page asked (dream-cli, curl, a player, a plain navigation): allowed. A page on
 * another origin, or an opaque one (`Origin: null`: sandboxed frames, some redirects), is not.
 * The Host check cannot do this: a page's request to 127.0.0.1 names 127.0.0.1 as its Host, and
 * a "simple" request (a POST without a body, a text/plain body, a form) needs no CORS preflight,
 * so the browser sends it and merely hides the answer.
 */
export function isSameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (hostHeader === undefined) return false;
  try {
    const from = new URL(origin);
    // new URL drops the default port and lowercases, on both sides alike.
    return from.protocol === 'http:' && from.host === new URL(`http://${hostHeader.trim()}`).host;
  } catch {
    return false;
  }
}

/**
 * A fastify onRequest hook answering 403 FOREIGN_HOST to any request whose Host header is not one of
 * the loopback names or `allowedHostnames` (ports are ignored; names compare case-insensitively).
 * A missing Host header is refused too: every browser sends one.
 */
export function hostGuard(allowedHostnames: readonly string[]) {
  const allowed = new Set([...LOOPBACK_HOSTNAMES, ...allowedHostnames].map(normalizeHostname));
  return async function dreamHostGuard(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const host = request.headers.host;
    if (isAllowedHost(host, allowed)) return undefined;
    const p = problem(
      'FOREIGN_HOST',
      host === undefined
        ? 'the request has no Host header'
        : `this server does not answer for host "${host.slice(0, 100)}"; use http://127.0.0.1 or add the name to the allowed hosts`,
    );
    // Returning the reply tells fastify the hook answered; the route never runs.
    return reply.code(p.status).send(p.body);
  };
}

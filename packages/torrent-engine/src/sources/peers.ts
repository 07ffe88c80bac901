/**
 * Peer address helpers shared by the sources: the compact formats (BEP 23 for IPv4, BEP 7 for
 * IPv6), normalisation and the dedup key. Pure functions, no I/O.
 */
import { isIP } from 'node:net';
import type { PeerAddress } from './types.js';

/** Parses BEP 23 compact IPv4 peers (6 bytes each). A trailing partial entry is ignored. */
export function parseCompactV4(bytes: Uint8Array, max = Number.POSITIVE_INFINITY): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let i = 0; i + 6 <= bytes.length && out.length < max; i += 6) {
    const port = (bytes[i + 4]! << 8) | bytes[i + 5]!;
    if (port === 0) continue; // port 0 cannot be connected to
    out.push({ host: `${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}`, port });
  }
  return out;
}

/** Parses BEP 7 compact IPv6 peers (18 bytes each). A trailing partial entry is ignored. */
export function parseCompactV6(bytes: Uint8Array, max = Number.POSITIVE_INFINITY): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let i = 0; i + 18 <= bytes.length && out.length < max; i += 18) {
    const port = (bytes[i + 16]! << 8) | bytes[i + 17]!;
    if (port === 0) continue;
    const groups: string[] = [];
    for (let g = 0; g < 8; g++) groups.push(((bytes[i + 2 * g]! << 8) | bytes[i + 2 * g + 1]!).toString(16));
    const host = normalizeHost(groups.join(':'));
    if (host !== undefined) out.push({ host, port });
  }
  return out;
}

/** Encodes IPv4 peers compactly (for tests and, later, PEX). Non-IPv4 hosts are skipped. */
export function encodeCompactV4(peers: PeerAddress[]): Uint8Array {
  const v4 = peers.filter((p) => isIP(p.host) === 4);
  const out = new Uint8Array(v4.length * 6);
  v4.forEach((p, k) => {
    const parts = p.host.split('.').map(Number);
    out.set(parts, k * 6);
    out[k * 6 + 4] = p.port >> 8;
    out[k * 6 + 5] = p.port & 0xff;
  });
  return out;
}

/** Encodes IPv6 peers compactly. Non-IPv6 hosts are skipped. */
export function encodeCompactV6(peers: PeerAddress[]): Uint8Array {
  const v6 = peers.filter((p) => isIP(p.host) === 6);
  const out = new Uint8Array(v6.length * 18);
  v6.forEach((p, k) => {
    out.set(ipv6Bytes(p.host), k * 18);
    out[k * 18 + 16] = p.port >> 8;
    out[k * 18 + 17] = p.port & 0xff;
  });
  return out;
}

function ipv6Bytes(host: string): Uint8Array {
  const [head = '', tail] = host.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * The canonical form of a host, or undefined if it is not an IP address or DNS name: brackets
 * removed, lower case, IPv6 compressed, IPv4-mapped IPv6 turned into IPv4 (so one peer has one key).
 */
export function normalizeHost(raw: string): string | undefined {
  let host = raw.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const kind = isIP(host);
  if (kind === 4) return host.split('.').map(Number).join('.');
  if (kind === 6) {
    // URL canonicalises IPv6 text (compression, zero runs) without any lookup.
    let canon: string;
    try {
      canon = new URL(`http://[${host}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canon);
    if (mapped) {
      const hi = Number.parseInt(mapped[1]!, 16);
      const lo = Number.parseInt(mapped[2]!, 16);
      return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
    }
    return canon;
  }
  return HOSTNAME.test(host) ? host : undefined;
}

/** A validated, normalised copy of the address, or undefined when host or port is unusable. */
export function normalizePeer(p: { host: unknown; port: unknown }): PeerAddress | undefined {
  if (typeof p.host !== 'string' || typeof p.port !== 'number') return undefined;
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return undefined;
  const host = normalizeHost(p.host);
  return host === undefined ? undefined : { host, port: p.port };
}

/** The dedup key: `1.2.3.4:6881`, `[::1]:6881`. */
export function peerKey(p: PeerAddress): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}

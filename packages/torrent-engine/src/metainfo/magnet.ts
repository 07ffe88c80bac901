/**
 * Magnet links (BEP 9) and bare infohashes. Only what the engine uses is read: the v1 infohash
 * (btih, hex or base32), the display name, trackers and x.pe peers. A v2-only magnet (btmh alone)
 * is refused like a v2-only torrent.
 */
import type { PeerAddress } from '../bitfield.js';
import { MetainfoError } from './errors.js';
import type { TorrentMeta } from './types.js';

export interface MagnetLink {
  infohash: string;
  /**
   * Hybrid torrents: the v2 infohash (SHA-256 of the info dict, 64 hex) from `xt=urn:btmh:1220…`.
   * Known before the metadata, it lets the first connections be upgraded to v2 (BEP 52).
   */
  infohashV2?: string;
  name?: string;
  trackers: string[];
  peers: PeerAddress[];
}

/** Longest magnet we look at; real ones with dozens of trackers stay under a few KiB. */
const MAX_MAGNET_LENGTH = 64 * 1024;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function parseMagnet(text: string): MagnetLink {
  const s = text.trim();
  if (s.length > MAX_MAGNET_LENGTH) throw bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  const bare = infohashFrom(s);
  if (bare) return { infohash: bare, trackers: [], peers: [] };
  if (!/^magnet:\?/i.test(s))
    throw bad('expected magnet:?xt=urn:btih:..., or a 40-hex or 32-base32 infohash');
  const params = new URLSearchParams(s.slice(s.indexOf('?') + 1));
  let infohash: string | undefined;
  let sawV2 = false;
  let infohashV2: string | undefined;
  for (const xt of params.getAll('xt')) {
    const m = /^urn:btih:(.+)$/i.exec(xt);
    if (m?.[1]) infohash ??= infohashFrom(m[1]);
    if (/^urn:btmh:/i.test(xt)) sawV2 = true;
    // A multihash: 0x12 (SHA-256), 0x20 (32 bytes), the digest. Anything else is ignored.
    const v2 = /^urn:btmh:1220([0-9a-f]{64})$/i.exec(xt);
    if (v2?.[1]) infohashV2 ??= v2[1].toLowerCase();
  }
  if (!infohash) {
    if (sawV2) {
      throw new MetainfoError(
        'V2_ONLY',
        'this magnet names only a BitTorrent v2 infohash (btmh); v2-only is not supported',
      );
    }
    throw bad('no xt=urn:btih:<infohash> parameter with a 40-hex or 32-base32 infohash');
  }
  const trackers = [...new Set(params.getAll('tr').filter((t) => /^(https?|udp):\/\//i.test(t)))];
  const peers = params.getAll('x.pe').flatMap((p) => {
    const a = parsePeer(p);
    return a ? [a] : [];
  });
  const dn = params.get('dn');
  return { infohash, ...(infohashV2 ? { infohashV2 } : {}), ...(dn ? { name: dn } : {}), trackers, peers };
}

export function toMagnet(meta: TorrentMeta, extra: { peers?: PeerAddress[] } = {}): string {
  const parts = [`xt=urn:btih:${meta.infohash}`];
  if (meta.infohashV2) parts.push(`xt=urn:btmh:1220${meta.infohashV2}`);
  parts.push(`dn=${encodeURIComponent(meta.name)}`);
  for (const tier of meta.trackers) for (const t of tier) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const p of extra.peers ?? []) {
    const host = p.host.includes(':') ? `[${p.host}]` : p.host;
    parts.push(`x.pe=${encodeURIComponent(`${host}:${p.port}`)}`);
  }
  return `magnet:?${parts.join('&')}`;
}

function infohashFrom(s: string): string | undefined {
  if (/^[0-9a-f]{40}$/i.test(s)) return s.toLowerCase();
  if (/^[a-z2-7]{32}$/i.test(s)) return base32ToHex(s.toLowerCase());
  return undefined;
}

function base32ToHex(s: string): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const c of s) {
    value = (value << 5) | BASE32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out += ((value >>> (bits - 8)) & 0xff).toString(16).padStart(2, '0');
      bits -= 8;
    }
  }
  return out;
}

function parsePeer(p: string): PeerAddress | undefined {
  const m = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/i.exec(p) ?? /^([^:\s]+):(\d{1,5})$/.exec(p);
  if (!m?.[1] || !m[2]) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}

function bad(why: string): MetainfoError {
  return new MetainfoError('BAD_MAGNET', `not a magnet link or infohash: ${why}`);
}

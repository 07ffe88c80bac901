/**
 * Shape checks for KRPC messages (BEP 5, BEP 44), applied before a packet reaches k-rpc and
 * bittorrent-dht. Those libraries trust field types: a `token` that is an integer makes
 * `token.equals` throw inside the socket's message handler, which would crash the daemon, and an
 * `r.id` that is not a string does the same in k-rpc-socket. So every field they read is checked
 * here, and a packet that fails is dropped (and counted). Pure: no sockets, no clock.
 */
import type { BDict, BValue } from './bencode.js';

export const ID_LENGTH = 20;

export type GuardResult =
  | { ok: true; y: 'q' | 'r' | 'e'; t: Buffer; q?: string }
  /** `reply203`: a query whose arguments are wrong gets KRPC error 203 (protocol error), as BEP 5 says. */
  | { ok: false; reason: string; reply203?: { t: Buffer; message: string } };

const isDict = (v: BValue | undefined): v is BDict =>
  v !== undefined && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v);
const isBytes = (v: BValue | undefined, len?: number): v is Buffer =>
  Buffer.isBuffer(v) && (len === undefined || v.length === len);
const isInt = (v: BValue | undefined, min: number, max: number): v is number =>
  typeof v === 'number' && v >= min && v <= max;

/** Longest token we accept; ours are 20 bytes, libtorrent's 4 or 8. */
const MAX_TOKEN = 64;
/** BEP 44: v is at most 1000 bytes bencoded, salt at most 64 bytes. */
const MAX_V = 1000;
const MAX_SALT = 64;

export function checkMessage(msg: BValue): GuardResult {
  if (!isDict(msg)) return { ok: false, reason: 'not a dict' };
  const t = msg.t;
  if (!isBytes(t) || t.length === 0 || t.length > 16) return { ok: false, reason: 'bad transaction id' };
  const y = isBytes(msg.y) ? msg.y.toString('latin1') : undefined;
  if (y === 'q') return checkQuery(msg, t);
  if (y === 'r') {
    const r = msg.r;
    if (!isDict(r)) return { ok: false, reason: 'response without r dict' };
    if (!isBytes(r.id, ID_LENGTH)) return { ok: false, reason: 'response without a 20-byte id' };
    if (r.nodes !== undefined && !isBytes(r.nodes)) return { ok: false, reason: 'r.nodes is not a string' };
    if (r.token !== undefined && !(isBytes(r.token) && r.token.length <= MAX_TOKEN)) {
      return { ok: false, reason: 'bad r.token' };
    }
    if (r.values !== undefined && !(Array.isArray(r.values) && r.values.every((v) => isBytes(v)))) {
      return { ok: false, reason: 'r.values is not a list of strings' };
    }
    if (r.v !== undefined || r.sig !== undefined || r.k !== undefined) {
      const bad = checkValueFields(r, false);
      if (bad) return { ok: false, reason: `bad BEP 44 reply: ${bad}` };
    }
    return { ok: true, y, t };
  }
  if (y === 'e') {
    const e = msg.e;
    if (!Array.isArray(e) || e.length < 2 || typeof e[0] !== 'number' || !isBytes(e[1])) {
      return { ok: false, reason: 'error without [code, message]' };
    }
    return { ok: true, y, t };
  }
  return { ok: false, reason: 'y is not q, r or e' };
}

function checkQuery(msg: BDict, t: Buffer): GuardResult {
  if (!isBytes(msg.q) || msg.q.length > 32) return { ok: false, reason: 'query without a method name' };
  const q = msg.q.toString('latin1');
  const a = msg.a;
  const protocolError = (message: string): GuardResult => ({
    ok: false,
    reason: `${q}: ${message}`,
    reply203: { t, message },
  });
  if (!isDict(a)) return protocolError('missing a dict');
  if (!isBytes(a.id, ID_LENGTH)) return protocolError('a.id must be a 20-byte string');
  switch (q) {
    case 'ping':
      break;
    case 'find_node':
      if (!isBytes(a.target, ID_LENGTH)) return protocolError('a.target must be a 20-byte string');
      break;
    case 'get_peers':
      if (!isBytes(a.info_hash, ID_LENGTH)) return protocolError('a.info_hash must be a 20-byte string');
      break;
    case 'announce_peer': {
      if (!isBytes(a.info_hash, ID_LENGTH)) return protocolError('a.info_hash must be a 20-byte string');
      if (!isBytes(a.token) || a.token.length === 0 || a.token.length > MAX_TOKEN) {
        return protocolError('a.token missing or malformed');
      }
      if (a.implied_port !== undefined && !isInt(a.implied_port, 0, 1)) {
        return protocolError('a.implied_port must be 0 or 1');
      }
      const implied = a.implied_port === 1;
      if (!implied && !isInt(a.port, 1, 65535)) return protocolError('a.port must be 1-65535');
      if (implied && a.port !== undefined && !isInt(a.port, 0, 65535)) return protocolError('bad a.port');
      break;
    }
    case 'get':
      if (!isBytes(a.target, ID_LENGTH)) return protocolError('a.target must be a 20-byte string');
      if (a.seq !== undefined && !isInt(a.seq, 0, Number.MAX_SAFE_INTEGER)) return protocolError('bad a.seq');
      break;
    case 'put': {
      if (!isBytes(a.token) || a.token.length === 0 || a.token.length > MAX_TOKEN) {
        return protocolError('a.token missing or malformed');
      }
      const bad = checkValueFields(a, true);
      if (bad) return protocolError(bad);
      break;
    }
    default:
      // Unknown methods (BEP 5 extensions we do not speak) pass: bittorrent-dht ignores them.
      break;
  }
  return { ok: true, y: 'q', t, q };
}

/**
 * BEP 44 fields. v may be any bencoded value (other implementations store lists and dicts); a string
 * v is capped at 1000 bytes here, any other v is bounded by the packet size limit.
 */
function checkValueFields(d: BDict, isPut: boolean): string | undefined {
  if (isPut && d.v === undefined) return 'v is missing';
  if (isBytes(d.v) && d.v.length > MAX_V) return 'v is over 1000 bytes';
  const mutable = d.k !== undefined || d.sig !== undefined;
  if (!mutable) return undefined;
  if (!isBytes(d.k, 32)) return 'k must be a 32-byte ed25519 key';
  if (!isBytes(d.sig, 64)) return 'sig must be a 64-byte signature';
  if (!isInt(d.seq, 0, Number.MAX_SAFE_INTEGER)) return 'seq must be a non-negative integer';
  if (d.salt !== undefined && !(isBytes(d.salt) && d.salt.length <= MAX_SALT)) return 'salt is over 64 bytes';
  if (d.cas !== undefined && !isInt(d.cas, 0, Number.MAX_SAFE_INTEGER)) return 'cas must be an integer';
  return undefined;
}

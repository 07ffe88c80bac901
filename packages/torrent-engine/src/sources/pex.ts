/**
 * Parses a ut_pex (BEP 11) message payload into peer addresses, with hard limits. The wire handling
 * (extension handshake, sending our own PEX) is the engine's; this is only the untrusted-bytes part.
 * Returns a result value, never throws: it runs inside a peer's message handler.
 */
import { type BValue, bdecode, getBytes, isDict } from './bdecode.js';
import { parseCompactV4, parseCompactV6 } from './peers.js';
import type { PeerAddress } from './types.js';

/** BEP 11 flag bits of `added.f` / `added6.f`. */
export const PEX_FLAGS = {
  prefersEncryption: 0x01,
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  reachable: 0x10,
} as const;

export interface PexPeer extends PeerAddress {
  flags: number;
}

export type PexResult = { ok: true; added: PexPeer[]; dropped: PeerAddress[] } | { ok: false; error: string };

/**
 * 16 KiB: BEP 11 says at most 50 added and 50 dropped per message (about 2 KiB of IPv6); libtorrent
 * and Transmission stay well under this. Anything larger is not a PEX message we want to parse.
 */
export const PEX_MAX_PAYLOAD_BYTES = 16 * 1024;
/** Per list: twice BEP 11's 50, for lenient senders; the rest is ignored. */
export const PEX_MAX_PEERS = 100;

export function parsePex(payload: Uint8Array): PexResult {
  if (payload.length > PEX_MAX_PAYLOAD_BYTES) {
    return { ok: false, error: `ut_pex payload of ${payload.length} bytes exceeds ${PEX_MAX_PAYLOAD_BYTES}` };
  }
  let root: BValue;
  try {
    root = bdecode(payload, { maxBytes: PEX_MAX_PAYLOAD_BYTES, maxDepth: 4, maxTokens: 1000 });
  } catch (err) {
    return { ok: false, error: `ut_pex payload: ${(err as Error).message}` };
  }
  if (!isDict(root)) return { ok: false, error: 'ut_pex payload is not a dictionary' };

  const added: PexPeer[] = [];
  // One flag byte per entry of the raw list; entries are parsed one by one to keep that alignment.
  const collect = (raw: Uint8Array, flags: Uint8Array | undefined, size: 6 | 18) => {
    const parse = size === 6 ? parseCompactV4 : parseCompactV6;
    let count = 0;
    for (let i = 0; i + size <= raw.length && count < PEX_MAX_PEERS; i += size) {
      const [p] = parse(raw.subarray(i, i + size));
      if (!p) continue; // port 0 or unusable address
      count++;
      added.push({ host: p.host, port: p.port, flags: flags?.[i / size] ?? 0 });
    }
  };
  const a4 = getBytes(root, 'added');
  if (a4) collect(a4, getBytes(root, 'added.f'), 6);
  const a6 = getBytes(root, 'added6');
  if (a6) collect(a6, getBytes(root, 'added6.f'), 18);

  const dropped: PeerAddress[] = [];
  const d4 = getBytes(root, 'dropped');
  if (d4) dropped.push(...parseCompactV4(d4, PEX_MAX_PEERS));
  const d6 = getBytes(root, 'dropped6');
  if (d6) dropped.push(...parseCompactV6(d6, PEX_MAX_PEERS));
  return { ok: true, added, dropped };
}

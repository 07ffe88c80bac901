/**
 * BitTorrent Message Stream Encryption (MSE, also "protocol encryption", PE): the handshake that
 * libtorrent, qBittorrent, Transmission and Vuze speak before the BitTorrent handshake, so that
 * peers who require it (a common setting where ISPs shape BitTorrent traffic) will talk to us.
 *
 * The exchange (A initiates, B responds; SKEY is the infohash, HASH is SHA-1):
 *
 *   1 A->B  Ya, PadA
 *   2 B->A  Yb, PadB
 *   3 A->B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload
 *
 * Y = 2^X mod P (768-bit P), S the shared secret, VC eight zero bytes, pads 0-512 random bytes,
 * ENCRYPT RC4 keyed HASH('keyA'|'keyB', S, SKEY) with the first 1024 bytes of keystream dropped.
 * After step 4 the payload is RC4 or plaintext, as B selected from what A provided. Pads have no
 * length field before them, so B finds step 3 by searching for HASH('req1', S) and A finds step 4
 * by searching for ENCRYPT(VC): both searches are bounded by the 512-byte pad limit.
 *
 * Everything here reads through ByteReader with a cap on buffered bytes, and the caller bounds the
 * time (HANDSHAKE_TIMEOUT_MS): a hostile peer gets a HandshakeError, never an unbounded wait or
 * buffer. Design notes: docs/design/engine.md#encryption.
 */
import { createDiffieHellman, createHash, randomBytes, randomInt } from 'node:crypto';
import { ByteReader, HandshakeError } from './byte-reader.js';
import { Rc4 } from './rc4.js';

export { ByteReader, HandshakeError };

/** The 768-bit safe prime of the MSE specification (generator 2). */
const P = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
const P_BIG = BigInt(`0x${P.toString('hex')}`);
const KEY_BYTES = 96;
const MAX_PAD = 512;
const VC = Buffer.alloc(8);
const DISCARD = 1024;

/** crypto_provide / crypto_select bits. */
export const METHOD_PLAINTEXT = 0x01;
export const METHOD_RC4 = 0x02;

/**
 * `enabled`: plaintext first out, MSE when a peer hangs up on it, both accepted in, plaintext
 * payload preferred (the handshake is obfuscated either way; RC4 in JavaScript costs CPU).
 * `required`: MSE with RC4 payload only, in and out. `disabled`: plaintext only.
 */
export type EncryptionPolicy = 'enabled' | 'required' | 'disabled';

/** Methods we provide as initiator, and accept as responder, under a policy. */
export function methodsFor(policy: EncryptionPolicy): number {
  return policy === 'required' ? METHOD_RC4 : METHOD_PLAINTEXT | METHOD_RC4;
}

/** Most a peer may send before the handshake is done: the handshake itself plus its first messages. */
const MAX_BUFFERED = 1024 * 1024;

export interface MseIo {
  reader: ByteReader;
  write(data: Buffer): void;
}

export interface MseResult {
  method: 'plaintext' | 'rc4';
  /** Payload bytes that arrived with the handshake, already decrypted: feed them to the wire first. */
  leftover: Buffer;
  /** Decrypts bytes read from the socket, in place (the same array back for plaintext). */
  decrypt(data: Uint8Array): Uint8Array;
  /** Encrypts bytes for the socket into a new buffer (the same bytes back for plaintext). */
  encrypt(data: Uint8Array): Uint8Array;
  /** Responder: the infohash the initiator asked for (SKEY), lowercase hex. */
  infohash: string;
  /**
   * ms of one round trip: the initiator's from sending Ya to receiving Yb, the responder's from
   * sending Yb to finding step 3 (which the initiator sends as soon as Yb is in).
   */
  rttMs?: number;
}

export function newReader(): ByteReader {
  return new ByteReader(MAX_BUFFERED);
}

const sha1 = (...parts: (string | Buffer)[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** A DH key pair on P; the public key and secrets left-padded to 96 bytes as the spec writes them. */
function keyPair() {
  const dh = createDiffieHellman(P, 2);
  dh.generateKeys();
  const pub = Buffer.alloc(KEY_BYTES);
  const raw = dh.getPublicKey();
  raw.copy(pub, KEY_BYTES - raw.length);
  return {
    pub,
    secret(peer: Buffer): Buffer {
      // 1 and P-1 (and anything outside 2..P-2) make the secret guessable; OpenSSL rejects only
      // some of them (a key above P passed computeSecret on Node 20), so check the range here.
      const y = BigInt(`0x${peer.toString('hex')}`);
      if (y < 2n || y > P_BIG - 2n)
        throw new HandshakeError('unusable Diffie-Hellman key from the peer: out of range');
      let s: Buffer;
      try {
        s = dh.computeSecret(peer);
      } catch (err) {
        throw new HandshakeError(`unusable Diffie-Hellman key from the peer: ${(err as Error).message}`);
      }
      const out = Buffer.alloc(KEY_BYTES);
      s.copy(out, KEY_BYTES - s.length);
      return out;
    },
  };
}

const pad = (): Buffer => randomBytes(randomInt(0, MAX_PAD + 1));

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function result(
  method: number,
  infohash: string,
  decryptor: Rc4,
  encryptor: Rc4,
  rest: Buffer,
  head: Buffer = Buffer.alloc(0),
): MseResult {
  if (method === METHOD_RC4) {
    return {
      method: 'rc4',
      infohash,
      leftover: Buffer.concat([head, decryptor.updateInPlace(rest)]),
      decrypt: (d) => decryptor.updateInPlace(d),
      encrypt: (d) => encryptor.update(d),
    };
  }
  return {
    method: 'plaintext',
    infohash,
    leftover: Buffer.concat([head, rest]),
    decrypt: (d) => d,
    encrypt: (d) => d,
  };
}

/** The methods a peer offered that we take, preferring plaintext when both sides allow it. */
function select(provided: number, accepted: number): number {
  const common = provided & accepted;
  if (common & METHOD_PLAINTEXT) return METHOD_PLAINTEXT;
  if (common & METHOD_RC4) return METHOD_RC4;
  throw new HandshakeError(`no encryption method in common (peer offers ${provided}, we accept ${accepted})`);
}

/**
 * Side A: we dialled. `infohash` is the torrent we want, lowercase hex. `initialPayload` (IA), asked
 * for when step 3 goes out, is what our side says first (the BitTorrent handshake): sent with step 3,
 * the peer can answer it with step 4 instead of a round trip later.
 */
export async function mseInitiate(
  io: MseIo,
  infohash: string,
  methods: number,
  initialPayload: () => Uint8Array = () => Buffer.alloc(0),
): Promise<MseResult> {
  const skey = Buffer.from(infohash, 'hex');
  const keys = keyPair();
  const sentAt = performance.now();
  io.write(Buffer.concat([keys.pub, pad()]));
  await io.reader.need(KEY_BYTES);
  const rttMs = performance.now() - sentAt;
  const s = keys.secret(io.reader.take(KEY_BYTES));
  const encA = new Rc4(sha1('keyA', s, skey), DISCARD);
  const decB = new Rc4(sha1('keyB', s, skey), DISCARD);
  const ia = initialPayload();
  if (ia.length > 0xffff) throw new HandshakeError(`initial payload of ${ia.length} bytes (at most 65535)`);
  io.write(
    Buffer.concat([
      sha1('req1', s),
      xor(sha1('req2', skey), sha1('req3', s)),
      encA.update(Buffer.concat([VC, u32(methods), u16(0), u16(ia.length), ia])),
    ]),
  );
  // Step 4 starts after PadB: find ENCRYPT(VC), which is B's first 8 bytes of keystream.
  await io.reader.skipPast(decB.update(VC), MAX_PAD, 'the encrypted verification constant');
  await io.reader.need(6);
  const head = decB.updateInPlace(io.reader.take(6));
  const selected = head.readUInt32BE(0);
  if (selected !== METHOD_PLAINTEXT && selected !== METHOD_RC4) {
    throw new HandshakeError(`the peer selected encryption method ${selected}, not one of ours`);
  }
  if ((selected & methods) === 0)
    throw new HandshakeError(`the peer selected method ${selected}, which we did not offer`);
  const padLength = head.readUInt16BE(4);
  if (padLength > MAX_PAD) throw new HandshakeError(`padding of ${padLength} bytes (at most ${MAX_PAD})`);
  await io.reader.need(padLength);
  decB.updateInPlace(io.reader.take(padLength));
  return { ...result(selected, infohash, decB, encA, io.reader.rest()), rttMs };
}

/**
 * Side B: a peer dialled us and its first bytes are not a plaintext BitTorrent handshake.
 * `skeyOf(req2xor3)` finds which of our torrents it asks for from HASH('req2', SKEY) (xor already
 * undone), or undefined.
 */
export async function mseRespond(
  io: MseIo,
  accepted: number,
  lookup: (req2: Buffer) => string | undefined,
): Promise<MseResult> {
  await io.reader.need(KEY_BYTES);
  const keys = keyPair();
  const s = keys.secret(io.reader.take(KEY_BYTES));
  const sentAt = performance.now();
  io.write(Buffer.concat([keys.pub, pad()]));
  await io.reader.skipPast(sha1('req1', s), MAX_PAD, 'the request hash');
  const rttMs = performance.now() - sentAt;
  await io.reader.need(20);
  const infohash = lookup(xor(io.reader.take(20), sha1('req3', s)));
  if (infohash === undefined) throw new HandshakeError('the peer asked for a torrent we do not have');
  const skey = Buffer.from(infohash, 'hex');
  const decA = new Rc4(sha1('keyA', s, skey), DISCARD);
  const encB = new Rc4(sha1('keyB', s, skey), DISCARD);
  await io.reader.need(14);
  const head = decA.updateInPlace(io.reader.take(14));
  if (!head.subarray(0, 8).equals(VC)) throw new HandshakeError('wrong verification constant');
  const provided = head.readUInt32BE(8);
  const padLength = head.readUInt16BE(12);
  if (padLength > MAX_PAD) throw new HandshakeError(`padding of ${padLength} bytes (at most ${MAX_PAD})`);
  await io.reader.need(padLength + 2);
  const iaLength = decA.updateInPlace(io.reader.take(padLength + 2)).readUInt16BE(padLength);
  await io.reader.need(iaLength);
  const initialPayload = decA.updateInPlace(io.reader.take(iaLength));
  const selected = select(provided, accepted);
  io.write(encB.update(Buffer.concat([VC, u32(selected), u16(0)])));
  return { ...result(selected, infohash, decA, encB, io.reader.rest(), initialPayload), rttMs };
}

/** HASH('req2', SKEY) for a torrent, what a responder compares against. */
export function req2Hash(infohash: string): Buffer {
  return sha1('req2', Buffer.from(infohash, 'hex'));
}

/** The first bytes of a plaintext BitTorrent handshake: anything else on an incoming socket is MSE. */
export const PLAINTEXT_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')]);

/**
 * BEP 44 helpers shared by the client (which signs) and the daemon (which verifies). Dream's design:
 * the secret key never leaves the client. The client signs `salt? seq v` (the BEP 44 signature
 * buffer) with node:crypto ed25519 and sends public key, seq, signature and value; the daemon
 * verifies before putting, so a bad signature is a 400, not a silent no-op on remote nodes.
 * Values are byte strings (bencoded as a string), 1-1000 bytes.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { bencode } from './bencode.js';

export const MAX_VALUE_BYTES = 1000;
export const MAX_SALT_BYTES = 64;

export interface Ed25519Keypair {
  /** 32 bytes. */
  publicKey: Uint8Array;
  /** The 32-byte seed (RFC 8032 private key). */
  secretKey: Uint8Array;
}

export function generateKeypair(): Ed25519Keypair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { publicKey: Buffer.from(jwk.x!, 'base64url'), secretKey: Buffer.from(jwk.d!, 'base64url') };
}

/** The buffer BEP 44 signs: the bencoded dict {salt?, seq, v} without its outer "d" and "e". */
export function signatureData(value: Uint8Array, seq: number, salt?: Uint8Array): Buffer {
  const dict: Record<string, unknown> = { seq, v: Buffer.from(value) };
  if (salt?.length) dict.salt = Buffer.from(salt);
  const enc = bencode(dict);
  return enc.subarray(1, enc.length - 1);
}

export function signMutable(kp: Ed25519Keypair, value: Uint8Array, seq: number, salt?: Uint8Array): Buffer {
  const key = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: Buffer.from(kp.publicKey).toString('base64url'),
      d: Buffer.from(kp.secretKey).toString('base64url'),
    },
    format: 'jwk',
  });
  return sign(null, signatureData(value, seq, salt), key);
}

export function verifyMutable(
  publicKey: Uint8Array,
  value: Uint8Array,
  seq: number,
  signature: Uint8Array,
  salt?: Uint8Array,
): boolean {
  return verifyEd25519(Buffer.from(signature), signatureData(value, seq, salt), Buffer.from(publicKey));
}

/** BEP 44 targets: sha1(bencoded v) for immutable items, sha1(k + salt) for mutable ones. */
export function immutableTarget(value: Uint8Array): string {
  return createHash('sha1')
    .update(bencode(Buffer.from(value)))
    .digest('hex');
}

export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(publicKey), Buffer.from(salt ?? [])]))
    .digest('hex');
}

/** Checks a raw key parses as ed25519 (throws on a bad key, used for validation). */
export function isValidPublicKey(pk: Uint8Array): boolean {
  try {
    publicKeyFromRaw(pk);
    return pk.length === 32;
  } catch {
    return false;
  }
}

/** ed25519 check on a raw 32-byte public key (bittorrent-dht's `verify` option). Never throws. */
export function verifyEd25519(sig: Buffer, msg: Buffer, pk: Buffer): boolean {
  try {
    return verify(null, msg, publicKeyFromRaw(pk), sig);
  } catch {
    return false;
  }
}

function publicKeyFromRaw(pk: Uint8Array): ReturnType<typeof createPublicKey> {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk).toString('base64url') },
    format: 'jwk',
  });
}

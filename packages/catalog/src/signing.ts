/**
 * ed25519 signatures over entries and deletions (node:crypto, no dependency).
 *
 * The signed bytes are the UTF-8 of a JSON *array* (fixed positions, so no key-order ambiguity),
 * starting with a domain tag so a signature over one kind of message can never be taken for another.
 * Keys and signatures travel as lowercase hex of their raw bytes (32 and 64 bytes).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogEntry, CatalogFile } from './entry.js';
import { normalizeTitle } from './normalize.js';

export const ENTRY_DOMAIN = 'dream-catalog-entry-v1';
export const DELETE_DOMAIN = 'dream-catalog-delete-v1';
/** The key file's name inside general.state_dir. */
export const SIGNING_KEY_FILE = 'signing-key.pem';

export interface SigningKey {
  /** 64 lowercase hex characters: the raw ed25519 public key. */
  publicKey: string;
  privateKey: KeyObject;
}

/** A signed deletion: the body of DELETE /entries/:infohash. */
export interface DeleteRequest {
  infohash: string;
  publicKey: string;
  /** ISO time of signing; must be later than the entry's updatedAt and close to the server's clock. */
  signedAt: string;
  signature: string;
}

export function entryPayload(e: Omit<CatalogEntry, 'signature'>): Buffer {
  return Buffer.from(
    JSON.stringify([
      ENTRY_DOMAIN,
      e.infohash,
      e.title,
      e.magnet,
      e.size,
      e.files.map((f) => [f.path, f.size]),
      e.durationSeconds ?? null,
      e.codec ?? null,
      e.createdAt,
      e.updatedAt,
      e.publicKey,
    ]),
    'utf8',
  );
}

export function deletePayload(d: Omit<DeleteRequest, 'signature'>): Buffer {
  return Buffer.from(JSON.stringify([DELETE_DOMAIN, d.infohash, d.publicKey, d.signedAt]), 'utf8');
}

export function publicKeyHex(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an ed25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('hex');
}

function publicKeyObject(hex: string): KeyObject | undefined {
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  try {
    const x = Buffer.from(hex, 'hex').toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

function signHex(key: SigningKey, data: Buffer): string {
  return sign(null, data, key.privateKey).toString('hex');
}

function verifyHex(publicKey: string, data: Buffer, signature: string): boolean {
  const pk = publicKeyObject(publicKey);
  if (!pk || !/^[0-9a-f]{128}$/.test(signature)) return false;
  return verify(null, data, pk, Buffer.from(signature, 'hex'));
}

export function verifyEntry(e: CatalogEntry): boolean {
  return verifyHex(e.publicKey, entryPayload(e), e.signature);
}

export function verifyDelete(d: DeleteRequest): boolean {
  return verifyHex(d.publicKey, deletePayload(d), d.signature);
}

export interface UnsignedEntry {
  infohash: string;
  title: string;
  magnet: string;
  files: CatalogFile[];
  /** Defaults to the sum of the files' sizes. */
  size?: number;
  durationSeconds?: number;
  codec?: string;
  /** Keep the first version's createdAt when updating an entry; defaults to now. */
  createdAt?: string;
}

/**
 * Sign an entry. The title is normalised first (the server refuses unnormalised titles rather than
 * rewriting them, which would break the signature) and the infohash lower-cased.
 */
export function signEntry(key: SigningKey, fields: UnsignedEntry, now: Date = new Date()): CatalogEntry {
  const updatedAt = now.toISOString();
  const unsigned: Omit<CatalogEntry, 'signature'> = {
    infohash: fields.infohash.toLowerCase(),
    title: normalizeTitle(fields.title),
    magnet: fields.magnet,
    size: fields.size ?? fields.files.reduce((a, f) => a + f.size, 0),
    files: fields.files.map((f) => ({ path: f.path, size: f.size })),
    createdAt: fields.createdAt ?? updatedAt,
    updatedAt,
    publicKey: key.publicKey,
  };
  if (fields.durationSeconds !== undefined) unsigned.durationSeconds = fields.durationSeconds;
  if (fields.codec !== undefined) unsigned.codec = fields.codec;
  return { ...unsigned, signature: signHex(key, entryPayload(unsigned)) };
}

export function signDelete(key: SigningKey, infohash: string, now: Date = new Date()): DeleteRequest {
  const d = { infohash: infohash.toLowerCase(), publicKey: key.publicKey, signedAt: now.toISOString() };
  return { ...d, signature: signHex(key, deletePayload(d)) };
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyHex(publicKey) };
}

/**
 * The user's key: `<stateDir>/signing-key.pem` (PKCS#8), created on first use with mode 0600. Like
 * ssh, a key file that other users can read is refused rather than used.
 */
export async function loadOrCreateSigningKey(stateDir: string): Promise<SigningKey> {
  const path = join(stateDir, SIGNING_KEY_FILE);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const fresh = generateSigningKey();
  const pem = fresh.privateKey.export({ type: 'pkcs8', format: 'pem' });
  // Written whole to a private temp file, then link()ed into place: link fails if the key exists, so
  // two dream-cli processes racing on first use end with one key, and nobody reads a half-written file.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(pem);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(
      `signing key ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${path}`,
    );
  }
  const text = await readFile(path, 'utf8');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (err) {
    throw new Error(`signing key ${path} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`signing key ${path} is a ${privateKey.asymmetricKeyType} key, expected ed25519`);
  }
  return { privateKey, publicKey: publicKeyHex(createPublicKey(privateKey)) };
}

import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateSigningKey,
  loadOrCreateSigningKey,
  normalizeTitle,
  SIGNING_KEY_FILE,
  signDelete,
  signEntry,
  verifyDelete,
  verifyEntry,
} from '@dream/catalog';
import { describe, expect, it } from 'vitest';
import { entry, hashOf, tempDir } from './helpers.js';

describe('signing key file', () => {
  it('is created on first use with mode 0600, and the same key is loaded afterwards', async () => {
    const dir = join(tempDir('key'), 'state');
    const a = await loadOrCreateSigningKey(dir);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateSigningKey(dir);
    expect(b.publicKey).toBe(a.publicKey);
    expect(a.publicKey).toMatch(/^[0-9a-f]{64}$/);
    // A signature by the reloaded key verifies against the first one's public key.
    expect(verifyEntry(entry(b, 1, 'Sintel'))).toBe(true);
  });

  it('two racing first uses end with one key', async () => {
    const dir = tempDir('race');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dir)));
    expect(new Set(keys.map((k) => k.publicKey)).size).toBe(1);
    expect(readdirSync(dir)).toEqual([SIGNING_KEY_FILE]); // no temp file left behind
  });

  it('refuses a key file other users can read, saying how to fix it', async () => {
    const dir = tempDir('mode');
    await loadOrCreateSigningKey(dir);
    chmodSync(join(dir, SIGNING_KEY_FILE), 0o644);
    await expect(loadOrCreateSigningKey(dir)).rejects.toThrow(/readable by other users.*chmod 600/);
  });
});

describe('signatures', () => {
  const key = generateSigningKey();

  it('an entry verifies, and any change to a signed field breaks it', () => {
    const e = entry(key, 1, 'Big Buck Bunny', { durationSeconds: 10, codec: 'h264' });
    expect(verifyEntry(e)).toBe(true);
    const tampered = [
      { ...e, title: 'Big Buck Bunny 2' },
      { ...e, magnet: `${e.magnet}&x.pe=203.0.113.9:6881` },
      { ...e, size: e.size + 1 },
      { ...e, files: [{ path: 'other.mkv', size: e.size }] },
      { ...e, durationSeconds: 11 },
      { ...e, codec: 'hevc' },
      { ...e, createdAt: '2020-01-01T00:00:00.000Z' },
      { ...e, updatedAt: new Date(Date.now() + 5).toISOString() },
      { ...e, publicKey: generateSigningKey().publicKey },
      { ...e, signature: e.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
      { ...e, signature: '' },
    ];
    for (const t of tampered) expect(verifyEntry(t)).toBe(false);
  });

  it('the signer normalises the title and lower-cases the infohash before signing', () => {
    const e = signEntry(key, {
      infohash: hashOf(0xabc).toUpperCase(),
      title: '  Ame\u0301lie\u200B \u202Eevil\u202C  ',
      magnet: `magnet:?xt=urn:btih:${hashOf(0xabc)}`,
      files: [{ path: 'a.mkv', size: 1 }],
    });
    expect(e.title).toBe('Amélie evil');
    expect(e.infohash).toBe(hashOf(0xabc));
    expect(verifyEntry(e)).toBe(true);
  });

  it('a deletion verifies only for its infohash, key and time', () => {
    const d = signDelete(key, hashOf(5));
    expect(verifyDelete(d)).toBe(true);
    expect(verifyDelete({ ...d, infohash: hashOf(6) })).toBe(false);
    expect(verifyDelete({ ...d, signedAt: new Date(0).toISOString() })).toBe(false);
    expect(verifyDelete({ ...d, publicKey: generateSigningKey().publicKey })).toBe(false);
  });

  it('an entry signature is never accepted as a deletion (domain separation)', () => {
    const e = entry(key, 7, 'x');
    expect(
      verifyDelete({
        infohash: e.infohash,
        publicKey: e.publicKey,
        signedAt: e.updatedAt,
        signature: e.signature,
      }),
    ).toBe(false);
  });
});

describe('normalizeTitle', () => {
  const cases: Array<[string, string]> = [
    ['Amélie', 'Amélie'],
    ['Ame\u0301lie', 'Amélie'], // NFD to NFC
    ['  a \t b\n c  ', 'a b c'],
    ['in\u200Bvisible', 'invisible'], // zero-width space
    ['bidi \u202Egnp.exe\u202C', 'bidi gnp.exe'], // right-to-left override
    ['\u2066isolate\u2069', 'isolate'],
    ['\uFEFFbom', 'bom'],
    ['soft\u00ADhyphen', 'softhyphen'],
    ['bell\u0007', 'bell'],
    ['lone \uD800 surrogate', 'lone surrogate'],
    ['private \uE000 use', 'private use'],
    ['x\u0301\u0302\u0303\u0304\u0305\u0306algo', 'x\u0301\u0302\u0303algo'], // no combining towers
    ['\u200B\u200C\u200D', ''],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} -> ${JSON.stringify(want)}`, () => {
      expect(normalizeTitle(raw)).toBe(want);
      expect(normalizeTitle(normalizeTitle(raw))).toBe(normalizeTitle(raw)); // idempotent
    });
  }
});

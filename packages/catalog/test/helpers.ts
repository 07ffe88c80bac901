import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CatalogEntry, type SigningKey, signEntry, type UnsignedEntry } from '@dream/catalog';

export const tempDir = (name: string): string => mkdtempSync(join(tmpdir(), `dream-catalog-${name}-`));

/** A deterministic infohash from a number. */
export const hashOf = (n: number): string => n.toString(16).padStart(40, '0');

export function entry(
  key: SigningKey,
  n: number,
  title: string,
  extra: Partial<UnsignedEntry> = {},
  now: Date = new Date(),
): CatalogEntry {
  const infohash = hashOf(n);
  return signEntry(
    key,
    {
      infohash,
      title,
      magnet: `magnet:?xt=urn:btih:${infohash}&dn=${encodeURIComponent(title)}&x.pe=192.0.2.1:6881`,
      files: [{ path: `${title}.mkv`, size: 1000 + n }],
      ...extra,
    },
    now,
  );
}

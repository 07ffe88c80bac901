/**
 * Transfer rates as people type them ("4MiB", "500k", "2.5 MB/s", "0", "none") and as we print
 * them. Pure: `dream-cli limits` parses with it, and its errors say what was wrong and what to type.
 *
 * Units follow curl's --limit-rate and most BitTorrent clients for bare letters (k = 1024) and SI
 * for the explicit decimal forms: B; k, K, KiB = 1024; kB, KB = 1000; m, M, MiB = 1024²; MB = 10⁶;
 * g, G, GiB = 1024³; GB = 10⁹. An optional "/s" or "ps" suffix is accepted. A lower-case b after a
 * prefix ("8Mb") is refused: it usually means bits, and guessing would be off eightfold.
 */

import { bytes } from './format.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** What the engine accepts (the config's bound: 1 TB/s). */
export const MAX_RATE = 1_000_000_000_000;

const UNLIMITED = new Set(['0', 'none', 'off', 'unlimited']);

/** Bytes per second for `text`, 0 for no limit; throws an Error whose message names the fix. */
export function parseRate(text: string): number {
  const t = text.trim();
  if (UNLIMITED.has(t.toLowerCase())) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*?)\s*(?:\/s|ps)?$/i.exec(t);
  const written = m?.[2] ?? '';
  if (m && written.length > 1 && written.endsWith('b')) {
    throw new Error(
      `"${text}": a lower-case b means bits; limits are bytes per second: write ${written[0]!.toUpperCase()}B (powers of 1000) or ${written[0]!.toUpperCase()}iB (of 1024)`,
    );
  }
  const unit = m ? UNITS[written.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new Error(
      `"${text}" is not a rate: write bytes per second as a number with an optional unit, e.g. 500k, 4MiB, 2.5MB/s, or 0 for no limit`,
    );
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes > MAX_RATE) throw new Error(`"${text}" is more than the engine accepts (1 TB/s)`);
  if (bytes === 0 && Number(m[1]) > 0) throw new Error(`"${text}" is less than one byte per second`);
  return bytes;
}

/** "4.0 MiB/s" (format.ts's units), or "unlimited" for 0. */
export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${bytes(bytesPerSecond)}/s` : 'unlimited';
}

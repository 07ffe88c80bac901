/**
 * Seeded fuzzing of the decoders that face the network: random values round-trip through bdecode,
 * and random mutations of valid inputs give a value or a typed error, never another exception.
 */
import { describe, expect, it } from 'vitest';
import { type BValue, bdecode } from '../src/sources/bdecode.js';
import { SourceError } from '../src/sources/errors.js';
import { parseHttpAnnounceResponse } from '../src/sources/http-tracker.js';
import { encodeCompactV4 } from '../src/sources/peers.js';
import { parsePex } from '../src/sources/pex.js';
import { parseUdpAnnounceResponse } from '../src/sources/udp-tracker.js';
import { benc } from './sources-tracker-server.js';

/** mulberry32: small, seeded, good enough to spread test cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(r: () => number, depth = 0): BValue {
  const k = Math.floor(r() * (depth > 3 ? 2 : 4));
  if (k === 0) return Math.floor((r() - 0.5) * 2 ** 40);
  if (k === 1) return Uint8Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 256));
  if (k === 2) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const d: Record<string, BValue> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) d[`k${Math.floor(r() * 100)}`] = randomValue(r, depth + 1);
  return d;
}

/** Compares decoded values with the originals (decoded dicts have a null prototype). */
function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === 'object' && a && typeof b === 'object' && b) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same((a as never)[k], (b as never)[k]));
  }
  return a === b;
}

function mutate(bytes: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const kind = Math.floor(r() * 3);
  if (kind === 0 && out.length) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  if (kind === 1) return out.subarray(0, Math.floor(r() * out.length));
  if (kind === 2) return Uint8Array.from([...out, ...Array.from({ length: 3 }, () => Math.floor(r() * 256))]);
  return out;
}

describe('fuzz', () => {
  it('bdecode round-trips 2,000 random values', () => {
    const r = rng(1);
    for (let i = 0; i < 2000; i++) {
      const v = randomValue(r);
      const decoded = bdecode(benc(v));
      expect(same(decoded, v)).toBe(true);
    }
  });

  it('mutated tracker responses and PEX payloads give values or typed errors, never crashes', () => {
    const r = rng(2);
    const http = benc({
      interval: 1800,
      'min interval': 60,
      peers: Buffer.from(
        encodeCompactV4([
          { host: '10.0.0.1', port: 1 },
          { host: '10.0.0.2', port: 2 },
        ]),
      ),
      peers6: Buffer.alloc(18, 1),
    });
    const pex = benc({
      added: Buffer.alloc(12, 7),
      'added.f': Buffer.from([1, 2]),
      dropped: Buffer.alloc(6, 9),
    });
    const udp = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 7, 8, 0, 0, 0, 1, 0, 0, 0, 2]),
      Buffer.alloc(13, 5),
    ]);
    let typed = 0;
    for (let i = 0; i < 5000; i++) {
      let m = mutate(http, r);
      for (let j = Math.floor(r() * 4); j > 0; j--) m = mutate(m, r);
      try {
        const res = parseHttpAnnounceResponse(m);
        expect(res.peers.length).toBeLessThanOrEqual(2000);
      } catch (err) {
        expect(err).toBeInstanceOf(SourceError);
        typed++;
      }
      const p = parsePex(mutate(pex, r));
      expect(typeof p.ok).toBe('boolean');
      try {
        parseUdpAnnounceResponse(Buffer.from(mutate(udp, r)), r() < 0.5);
      } catch (err) {
        expect(err).toBeInstanceOf(SourceError);
      }
    }
    expect(typed).toBeGreaterThan(0);
  });
});

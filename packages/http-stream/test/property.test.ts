/**
 * Property: for random file sizes (around piece-like boundaries, tiny, empty) and random Range
 * headers (int, open, suffix, 0-0, last byte, several at once), the answer is what an independent
 * oracle derives from RFC 9110, and every byte served equals the source's byte at that offset.
 */

import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildStreamApp, MAX_RANGE_SPECS, parseRange } from '../src/index.js';
import { expectedBytes, parseMultipart, virtualFile } from './helpers.js';

const PIECE = 16 * 1024;
const IH = 'ab'.repeat(20);

type Spec = { kind: 'int'; first: number; last?: number } | { kind: 'suffix'; n: number };

function render(s: Spec): string {
  return s.kind === 'suffix' ? `-${s.n}` : `${s.first}-${s.last ?? ''}`;
}

/** The RFC's answer, computed naively (byte set as sorted merged intervals), independent of range.ts. */
function oracle(specs: Spec[], size: number): { status: number; intervals: Array<[number, number]> } {
  if (size === 0 || specs.length > MAX_RANGE_SPECS) return { status: 200, intervals: [[0, size - 1]] };
  if (specs.some((s) => s.kind === 'int' && s.last !== undefined && s.last < s.first)) {
    return { status: 416, intervals: [] };
  }
  const covered = new Set<number>();
  const add = (a: number, b: number) => {
    for (let i = a; i <= b; i++) covered.add(i);
  };
  for (const s of specs) {
    if (s.kind === 'suffix') {
      if (s.n > 0) add(Math.max(0, size - s.n), size - 1);
    } else if (s.first < size) add(s.first, Math.min(s.last ?? size - 1, size - 1));
  }
  if (covered.size === 0) return { status: 416, intervals: [] };
  const sorted = [...covered].sort((a, b) => a - b);
  const intervals: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = intervals[intervals.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else intervals.push([i, i]);
  }
  return { status: 206, intervals };
}

// Sizes near piece boundaries, plus tiny ones; kept modest so the naive oracle stays fast.
const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3),
  fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: -2, max: 2 })).map(([k, d]) => k * PIECE + d),
  fc.integer({ min: 1, max: 200_000 }),
);

function specArb(size: number): fc.Arbitrary<Spec> {
  const pos = fc.oneof(
    fc.constantFrom(0, 1, size - 1, size, size + 1, PIECE - 1, PIECE, PIECE + 1),
    fc.integer({ min: 0, max: size + 10 }),
  );
  return fc.oneof(
    fc.tuple(pos, pos).map(([a, b]): Spec => ({ kind: 'int', first: Math.min(a, b), last: Math.max(a, b) })),
    pos.map((first): Spec => ({ kind: 'int', first })),
    fc.constant<Spec>({ kind: 'int', first: 0, last: 0 }),
    fc.constant<Spec>({ kind: 'int', first: size - 1, last: size - 1 }),
    fc
      .oneof(fc.constantFrom(0, 1, size, size + 1), fc.integer({ min: 0, max: size + 10 }))
      .map((n): Spec => ({ kind: 'suffix', n })),
    // Rarely an inverted one.
    fc
      .tuple(fc.integer({ min: 1, max: size + 10 }), fc.integer({ min: 1, max: 10 }))
      .map(([first, d]): Spec => ({ kind: 'int', first, last: Math.max(0, first - d) })),
  );
}

const caseArb = sizeArb
  .filter((s) => s >= 0)
  .chain((size) =>
    fc.record({
      size: fc.constant(size),
      seed: fc.integer({ min: 1, max: 1000 }),
      specs: fc.oneof(
        { weight: 5, arbitrary: fc.array(specArb(size), { minLength: 1, maxLength: 1 }) },
        { weight: 4, arbitrary: fc.array(specArb(size), { minLength: 2, maxLength: 5 }) },
        { weight: 1, arbitrary: fc.array(specArb(size), { minLength: 15, maxLength: 18 }) },
      ),
    }),
  );

describe('parseRange (pure)', () => {
  it('agrees with the oracle on status and intervals', () => {
    fc.assert(
      fc.property(caseArb, ({ size, specs }) => {
        const want = oracle(specs, size);
        const got = parseRange(`bytes=${specs.map(render).join(',')}`, size);
        if (want.status === 200) expect(got.kind).toBe('ignored');
        else if (want.status === 416) expect(got.kind).toBe('unsatisfiable');
        else {
          expect(got.kind).toBe('ranges');
          if (got.kind === 'ranges') expect(got.ranges.map((r) => [r.start, r.end])).toEqual(want.intervals);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary header text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat(1 << 30), (header, size) => {
        const got = parseRange(header, size);
        expect(['none', 'ignored', 'unsatisfiable', 'ranges']).toContain(got.kind);
        if (got.kind === 'ranges') {
          for (const r of got.ranges) expect(0 <= r.start && r.start <= r.end && r.end < size).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('served bytes', () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('every byte equals the source, for every status the oracle predicts', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ size, seed, specs }) => {
        const file = virtualFile('v.mkv', size, seed);
        const app = buildStreamApp({ files: () => [file] }, { host: '127.0.0.1' });
        apps.push(app);
        const res = await app.inject({
          url: `/stream/${IH}/0`,
          headers: { range: `bytes=${specs.map(render).join(',')}` },
        });
        await app.close();
        apps.pop();
        const want = oracle(specs, size);
        expect(res.statusCode).toBe(want.status);
        const body = res.rawPayload;
        expect(body.length).toBe(Number(res.headers['content-length']));
        if (want.status === 416) {
          expect(res.headers['content-range']).toBe(`bytes */${size}`);
          return;
        }
        if (want.status === 200) {
          expect(body.equals(size === 0 ? Buffer.alloc(0) : expectedBytes(seed, 0, size - 1))).toBe(true);
          return;
        }
        if (want.intervals.length === 1) {
          const [a, b] = want.intervals[0]!;
          expect(res.headers['content-range']).toBe(`bytes ${a}-${b}/${size}`);
          expect(body.equals(expectedBytes(seed, a, b))).toBe(true);
          return;
        }
        const parts = parseMultipart(body, String(res.headers['content-type']));
        expect(parts.map((p) => [p.start, p.end])).toEqual(want.intervals);
        for (const p of parts) expect(p.data.equals(expectedBytes(seed, p.start, p.end))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

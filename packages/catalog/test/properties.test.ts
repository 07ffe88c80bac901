/** Property tests (fast-check) for the two places hostile bytes meet our code: titles and the log. */

import { normalizeTitle, searchTokens } from '@dream/catalog';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, LOG_MAGIC, parseLog } from '../src/embedded/append-log.js';
import { titleProblem } from '../src/normalize.js';

// Strings mixing ordinary text with the characters attackers use: bidi, zero-width, controls,
// combining marks, surrogate halves, full-width letters.
const nasty = fc.constantFrom(
  '\u202E',
  '\u2066',
  '\u200B',
  '\u200D',
  '\uFEFF',
  '\u0000',
  '\u0007',
  '\n',
  '\t',
  '\u00AD',
  '\u0301',
  '\u0308',
  '\uD800',
  '\uDC00',
  'Ｆ',
  'é',
  'e\u0301',
  ' ',
  '  ',
  'ß',
  'İ',
  '😀',
);
const title = fc
  .array(fc.oneof(fc.string({ maxLength: 6 }), nasty), { maxLength: 30 })
  .map((a) => a.join(''));

describe('normalizeTitle', () => {
  it('is idempotent, and its output is either empty or an acceptable title', () => {
    fc.assert(
      fc.property(title, (raw) => {
        const n = normalizeTitle(raw);
        expect(normalizeTitle(n)).toBe(n);
        if (n.length > 0) expect(titleProblem(n, 10_000)).toBeUndefined();
        expect(n).not.toMatch(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u);
        expect(n).toBe(n.trim());
      }),
      { numRuns: 2000 },
    );
  });

  it('search words are lower-case, mark-free and non-empty', () => {
    fc.assert(
      fc.property(title, (raw) => {
        for (const w of searchTokens(raw)) {
          expect(w.length).toBeGreaterThan(0);
          expect(w).not.toMatch(/\p{M}/u);
          expect(w).toBe(w.toLowerCase());
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseLog', () => {
  it('any truncation or corruption of a log yields a prefix of its records, never a throw', () => {
    const records = fc.array(fc.record({ op: fc.constant('del'), h: fc.string({ maxLength: 40 }) }), {
      minLength: 1,
      maxLength: 20,
    });
    fc.assert(
      fc.property(
        records,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (recs, cutAt, flipAt, mask) => {
          const bytes = Buffer.concat([LOG_MAGIC, ...recs.map(frame)]);
          const cut = bytes.subarray(0, LOG_MAGIC.length + (cutAt % (bytes.length - LOG_MAGIC.length + 1)));
          const got = parseLog(cut).records;
          expect(got).toEqual(recs.slice(0, got.length));
          const flipped = Buffer.from(bytes);
          const i = LOG_MAGIC.length + (flipAt % (bytes.length - LOG_MAGIC.length));
          flipped[i] = flipped[i]! ^ mask;
          const after = parseLog(flipped).records;
          expect(after).toEqual(recs.slice(0, after.length));
          expect(after.length).toBeLessThan(recs.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

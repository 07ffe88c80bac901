import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, matchTier, TitleIndex } from '../src/embedded/title-index.js';
import { topK } from '../src/embedded/top-k.js';

describe('matchTier', () => {
  const t = (s: string) => s.split(' ');
  const cases: Array<[string, string, number]> = [
    ['the matrix', 'the matrix', 3],
    ['the matrix reloaded', 'the matrix', 2],
    ['the matrix reloaded', 'matrix relo', 2],
    ['night of the living dead', 'living dead night', 1],
    ['night of the living dead', 'dead liv', 1],
    ['interstellar', 'interstelar', 0],
    ['alien', 'a', 0], // a 1-letter last word is no prefix
  ];
  for (const [title, query, tier] of cases) {
    it(`"${query}" in "${title}": ${tier}`, () => expect(matchTier(t(title), t(query))).toBe(tier));
  }
});

describe('editDistance', () => {
  it('is Levenshtein, bounded', () => {
    expect(editDistance('interstelar', 'interstellar', 2)).toBe(1);
    expect(editDistance('tho', 'the', 1)).toBe(1);
    expect(editDistance('abc', 'xyz', 1)).toBe(2); // gave up: max + 1
    expect(editDistance('', 'ab', 2)).toBe(2);
  });
});

describe('topK', () => {
  it('equals sorting then slicing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.nat(40), (xs, k) => {
        expect(topK(xs, k, (a, b) => a - b)).toEqual([...xs].sort((a, b) => a - b).slice(0, k));
      }),
    );
  });
});

describe('common words', () => {
  // 200 titles with "the", so "the" is common (over 50 titles and 1%).
  const idx = new TitleIndex();
  for (let i = 0; i < 200; i++) idx.set(`f${i}`, `The Filler ${i} Story`);
  idx.set('m', 'The Matrix');
  idx.set('h', 'Those Who Wish Me Dead');

  it('are found, and a query of only common words still works (by scan)', () => {
    expect(idx.commonWords().has('the')).toBe(true);
    const hits = idx.search('the');
    expect(hits.length).toBe(201);
    expect(hits.find((h) => h.id === 'm')?.tier).toBe(2); // a phrase of the title
  });

  it('a rare word near a common one gets no fuzzy expansion onto it', () => {
    // "tho" is 1 edit from "the": expanding would match 201 titles for nothing.
    expect(idx.search('tho').map((h) => h.id)).toEqual(['h']);
  });

  it('a common word in a query ranks, but does not select', () => {
    const hits = idx.search('the matrix');
    expect(hits.map((h) => h.id)).toEqual(['m']);
    expect(hits[0]?.tier).toBe(3);
  });
});

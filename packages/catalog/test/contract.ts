/**
 * The contract every CatalogStore honours. Run on the embedded store always (embedded.test.ts) and on
 * Elasticsearch when DREAM_TEST_ELASTICSEARCH_URL is set (elastic.test.ts).
 */
import { type CatalogStore, generateSigningKey } from '@dream/catalog';
import { afterEach, describe, expect, it } from 'vitest';
import { entry, hashOf } from './helpers.js';

export interface StoreHarness {
  store: CatalogStore;
  /** Close and open the same store again (durability); absent when not meaningful. */
  reopen?: () => Promise<CatalogStore>;
}

export type StoreFactory = () => Promise<StoreHarness>;

/** A quality case: a query and the title that must come first. */
export const QUALITY_TITLES = [
  'Interstellar',
  'Interstellar Wars: The Lost Episodes',
  'Amélie',
  'The Fabulous Destiny of Amelie Poulain Behind the Scenes',
  'The Matrix',
  'The Matrix Reloaded',
  'The Matrix Revolutions',
  'Matrix of Leadership',
  'Spirited Away',
  'Big Buck Bunny',
  'Sintel',
  'Tears of Steel',
  'Night of the Living Dead',
  'Dead Night',
  'The Living Daylights',
  'Crouching Tiger, Hidden Dragon',
  'Alien',
  'Aliens',
  'Alien Resurrection',
  'Léon: The Professional',
  'Pan’s Labyrinth',
  'Ｆｕｌｌ Ｗｉｄｔｈ Ｆｉｌｍ',
  'Star Wars: Episode IV – A New Hope',
  'Stargate',
  'Starship Troopers',
  'Pulp Fiction',
  'The Godfather',
  'The Godfather Part II',
  'Cosmos: A Spacetime Odyssey',
  'Cosmic Voyage',
];

export const QUALITY_CASES: Array<{ why: string; query: string; top: string }> = [
  { why: 'one typo (missing letter)', query: 'interstelar', top: 'Interstellar' },
  { why: 'two typos in a long word', query: 'intrstelar', top: 'Interstellar' },
  { why: 'words in another order', query: 'night living dead', top: 'Night of the Living Dead' },
  { why: 'partial last word (type-ahead)', query: 'spirited aw', top: 'Spirited Away' },
  { why: 'partial single word', query: 'sint', top: 'Sintel' },
  { why: 'accent missing in the query', query: 'amelie', top: 'Amélie' },
  {
    why: 'accent in the query, not in the title',
    query: 'poulaín',
    top: 'The Fabulous Destiny of Amelie Poulain Behind the Scenes',
  },
  { why: 'accented title, plain query', query: 'leon professional', top: 'Léon: The Professional' },
  { why: 'exact title above its extensions', query: 'the matrix', top: 'The Matrix' },
  { why: 'exact title above fuzzy neighbour', query: 'alien', top: 'Alien' },
  { why: 'exact plural above singular', query: 'aliens', top: 'Aliens' },
  {
    why: 'case and punctuation ignored',
    query: 'CROUCHING tiger hidden-dragon',
    top: 'Crouching Tiger, Hidden Dragon',
  },
  { why: 'full-width letters (NFKD)', query: 'full width film', top: 'Ｆｕｌｌ Ｗｉｄｔｈ Ｆｉｌｍ' },
  { why: 'typo plus partial last word', query: 'godfathr par', top: 'The Godfather Part II' },
  { why: 'a typo in each of two words', query: 'bug buk bunny', top: 'Big Buck Bunny' },
  { why: 'curly apostrophe and typo', query: 'pans labirinth', top: 'Pan’s Labyrinth' },
  {
    why: 'words from the middle of a long title',
    query: 'new hope',
    top: 'Star Wars: Episode IV – A New Hope',
  },
  {
    why: 'an extra word not in any title (OR fallback)',
    query: 'tears of steel 2012',
    top: 'Tears of Steel',
  },
];

/** Deterministic titles of invented words, shaped like real ones ("The X of the Y", "X Y (1984)"). */
export function fillerTitles(n: number): string[] {
  const syl = [
    'ka',
    'lo',
    'ri',
    've',
    'pol',
    'mar',
    'ten',
    'dor',
    'qua',
    'zen',
    'bri',
    'tho',
    'gar',
    'nox',
    'ural',
  ];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const word = () => {
    const w = Array.from(
      { length: 2 + Math.floor(next() * 2) },
      () => syl[Math.floor(next() * syl.length)],
    ).join('');
    return w[0]!.toUpperCase() + w.slice(1);
  };
  return Array.from({ length: n }, (_, i) => {
    const shape = i % 4;
    if (shape === 0) return `The ${word()} of the ${word()}`;
    if (shape === 1) return `${word()} ${word()} (${1950 + (i % 70)})`;
    if (shape === 2) return `The ${word()}`;
    return `${word()} of ${word()}`;
  });
}

export function contractSuite(name: string, factory: StoreFactory): void {
  describe(`CatalogStore contract: ${name}`, () => {
    const key = generateSigningKey();
    const open: CatalogStore[] = [];
    const harness = async (): Promise<StoreHarness> => {
      const h = await factory();
      open.push(h.store);
      return h;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close().catch(() => undefined);
    });

    it('put then get returns the same entry, every field', async () => {
      const { store } = await harness();
      const e = entry(key, 1, 'Big Buck Bunny', {
        durationSeconds: 596.5,
        codec: 'h264',
        files: [
          { path: 'bbb/video.mp4', size: 100 },
          { path: 'bbb/subs/en.srt', size: 3 },
        ],
      });
      expect(await store.put(e)).toBe('created');
      expect(await store.get(e.infohash)).toEqual(e);
      expect(await store.get(hashOf(999))).toBeUndefined();
    });

    it('upserts by infohash: a re-upload updates, never duplicates', async () => {
      const { store } = await harness();
      const a = entry(key, 2, 'Sintel');
      const b = entry(
        key,
        2,
        'Sintel (director’s cut)',
        { createdAt: a.createdAt },
        new Date(Date.now() + 1000),
      );
      expect(await store.put(a)).toBe('created');
      expect(await store.put(b)).toBe('updated');
      expect((await store.get(a.infohash))?.title).toBe('Sintel (director’s cut)');
      const found = await store.search('sintel');
      expect(found.total).toBe(1);
      expect(found.results[0]?.entry.title).toBe('Sintel (director’s cut)');
    });

    it('putMany stores all and reports created/updated per entry', async () => {
      const { store } = await harness();
      await store.put(entry(key, 3, 'Cosmos'));
      const res = await store.putMany([entry(key, 3, 'Cosmos Again'), entry(key, 4, 'Cosmic Voyage')]);
      expect(res).toEqual(['updated', 'created']);
      expect((await store.search('cosmic voyage')).results[0]?.entry.infohash).toBe(hashOf(4));
    });

    it('delete removes from get, search and recent; remembers a tombstone when asked', async () => {
      const { store } = await harness();
      const e = entry(key, 5, 'Tears of Steel');
      await store.put(e);
      const at = new Date().toISOString();
      expect(await store.delete(e.infohash, at)).toBe(true);
      expect(await store.get(e.infohash)).toBeUndefined();
      expect((await store.search('tears of steel')).total).toBe(0);
      expect(await store.recent(10)).toEqual([]);
      expect(await store.lastDeleted(e.infohash)).toEqual({ infohash: e.infohash, deletedAt: at });
      expect(await store.delete(e.infohash)).toBe(false);
      expect(await store.lastDeleted(hashOf(6))).toBeUndefined();
      // Published again later: found again, and the tombstone still guards against older versions.
      const again = entry(key, 5, 'Tears of Steel', {}, new Date(Date.now() + 1000));
      expect(await store.put(again)).toBe('created');
      expect((await store.search('tears of steel')).total).toBe(1);
      expect(await store.lastDeleted(e.infohash)).toEqual({ infohash: e.infohash, deletedAt: at });
    });

    it('search pages through a ranked list with a stable total', async () => {
      const { store } = await harness();
      await store.putMany(
        Array.from({ length: 25 }, (_, i) => entry(key, 100 + i, `Nature Documentary Part ${i + 1}`)),
      );
      const all = await store.search('nature documentary', { limit: 100 });
      expect(all.total).toBe(25);
      const p1 = await store.search('nature documentary', { limit: 10, offset: 0 });
      const p3 = await store.search('nature documentary', { limit: 10, offset: 20 });
      expect(p1.total).toBe(25);
      expect(p1.results).toHaveLength(10);
      expect(p3.results).toHaveLength(5);
      const ids = [
        ...p1.results,
        ...(await store.search('nature documentary', { limit: 10, offset: 10 })).results,
        ...p3.results,
      ].map((r) => r.entry.infohash);
      expect(new Set(ids).size).toBe(25);
      for (let i = 1; i < all.results.length; i++) {
        expect(all.results[i - 1]!.score).toBeGreaterThanOrEqual(all.results[i]!.score);
      }
    });

    it('an empty or punctuation-only query finds nothing', async () => {
      const { store } = await harness();
      await store.put(entry(key, 7, 'Pulp Fiction'));
      expect(await store.search('')).toEqual({ total: 0, results: [] });
      expect(await store.search('  --- !!! ')).toEqual({ total: 0, results: [] });
    });

    it('recent lists newest first, limited', async () => {
      const { store } = await harness();
      const t0 = Date.now() - 60_000;
      for (let i = 0; i < 5; i++) {
        const at = new Date(t0 + i * 1000);
        await store.put(entry(key, 200 + i, `Clip ${i}`, { createdAt: at.toISOString() }, at));
      }
      const r = await store.recent(3);
      expect(r.map((e) => e.title)).toEqual(['Clip 4', 'Clip 3', 'Clip 2']);
    });

    it('search quality: each query has the expected first result', async () => {
      const { store } = await harness();
      await store.putMany(QUALITY_TITLES.map((t, i) => entry(key, 1000 + i, t)));
      const failures: string[] = [];
      for (const c of QUALITY_CASES) {
        const top = (await store.search(c.query, { limit: 3 })).results.map((r) => r.entry.title);
        if (top[0] !== c.top)
          failures.push(`${c.why}: "${c.query}" gave [${top.join(' | ')}], expected "${c.top}" first`);
      }
      expect(failures).toEqual([]);
    });

    it('search quality holds among 3,000 other titles (where "the" and "of" are common words)', async () => {
      const { store } = await harness();
      await store.putMany(QUALITY_TITLES.map((t, i) => entry(key, 1000 + i, t)));
      const filler = fillerTitles(3000);
      for (let i = 0; i < filler.length; i += 500) {
        await store.putMany(filler.slice(i, i + 500).map((t, j) => entry(key, 50_000 + i + j, t)));
      }
      const failures: string[] = [];
      for (const c of QUALITY_CASES) {
        const top = (await store.search(c.query, { limit: 3 })).results.map((r) => r.entry.title);
        if (top[0] !== c.top)
          failures.push(`${c.why}: "${c.query}" gave [${top.join(' | ')}], expected "${c.top}" first`);
      }
      expect(failures).toEqual([]);
    });

    it('survives close and reopen', async (ctx) => {
      const h = await harness();
      if (!h.reopen) ctx.skip(); // a server-backed store has no local reopen to test
      const e = entry(key, 300, 'Night of the Living Dead');
      await h.store.put(e);
      await h.store.delete(hashOf(301), new Date().toISOString());
      const again = await h.reopen!();
      open.push(again);
      expect(await again.get(e.infohash)).toEqual(e);
      expect((await again.search('living dead')).results[0]?.entry.infohash).toBe(e.infohash);
      expect(await again.lastDeleted(hashOf(301))).toBeDefined();
    });
  });
}

/**
 * Embedded catalog benchmark: insert rate and search latency at 10,000 and 100,000 titles.
 *
 *   pnpm build && node --import tsx bench/catalog.ts        (or through bench/index.ts)
 *
 * Titles are generated deterministically (seeded PRNG): common title words, invented proper nouns
 * for a long-tail vocabulary, accented words, years, qualities and episode numbers. Queries are
 * derived from stored titles (exact, one typo, partial last word, words reordered, accents dropped)
 * so each has a known right answer; recall@10 says how often it is in the first ten.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openEmbeddedStore } from '../packages/catalog/src/embedded/store.js';
import type { CatalogEntry } from '../packages/catalog/src/entry.js';
import { searchTokens } from '../packages/catalog/src/normalize.js';

/** mulberry32: tiny, fast, good enough for generating test data reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = `night day dark light star war love story man woman king queen city river mountain sea ocean
sky fire ice blood shadow ghost dream dead living lost found last first final secret hidden silent
wild young old great little big red blue black white golden silver iron steel stone glass paper house
home road journey return rise fall empire kingdom world planet space time machine heart soul mind
eye hand stranger friend enemy brother sister father mother son daughter family game hunter killer
night summer winter spring autumn storm rain snow wind sun moon earth garden forest desert island
bridge tower castle palace school hospital prison street station train ship plane car escape chase
mission project code protocol legacy origin chronicles tales legend myth saga diaries letters voices
song dance music symphony painter writer doctor captain detective soldier pilot sailor thief spy
angel devil saint sinner hero villain monster dragon wolf tiger lion eagle raven fox bear horse`
  .split(/\s+/)
  .filter(Boolean);
const ACCENTED = [
  'Amélie',
  'Léon',
  'Café',
  'Niño',
  'Zürich',
  'São',
  'Paulo',
  'Crème',
  'Brûlée',
  'Fiançée',
  'Señor',
  'Mañana',
  'Élan',
  'Über',
  'Façade',
  'Noël',
  'Müller',
  'Ångström',
  'Björk',
  'Kraków',
];
const SYLLABLES =
  'ka lo ri ve sta pol mar ten dor an el is ur qua zen bri tho mel gar fin nox ral sev ory ith una cor dal vin'.split(
    ' ',
  );
const QUALITY = ['1080p', '720p', '2160p', '4K', 'HDR', 'WEB', 'BluRay'];

const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);

export function generateTitles(n: number, seed = 42): string[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const proper = () => cap(Array.from({ length: 2 + Math.floor(r() * 2) }, () => pick(SYLLABLES)).join(''));
  const word = () => {
    const x = r();
    if (x < 0.62) return cap(pick(COMMON));
    if (x < 0.95) return proper();
    return pick(ACCENTED);
  };
  const titles: string[] = [];
  for (let i = 0; i < n; i++) {
    const shape = r();
    let t: string;
    if (shape < 0.3) t = `The ${word()} ${word()}`;
    else if (shape < 0.5) t = `${word()} of the ${word()}`;
    else if (shape < 0.65) t = `${proper()}'s ${word()}`;
    else if (shape < 0.8) t = `${word()} ${word()} ${word()}`;
    else if (shape < 0.9)
      t = `${word()}: ${word()} ${word()} S0${1 + Math.floor(r() * 9)}E${10 + Math.floor(r() * 20)}`;
    else t = word();
    if (r() < 0.4) t += ` (${1950 + Math.floor(r() * 75)})`;
    if (r() < 0.25) t += ` ${pick(QUALITY)}`;
    titles.push(t);
  }
  return titles;
}

const hashOf = (n: number): string => n.toString(16).padStart(40, '0');

function fakeEntry(i: number, title: string): CatalogEntry {
  const infohash = hashOf(i + 1);
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  return {
    infohash,
    title,
    magnet: `magnet:?xt=urn:btih:${infohash}&x.pe=192.0.2.1:6881`,
    size: 700_000_000 + i,
    files: [{ path: `${title}.mkv`, size: 700_000_000 + i }],
    durationSeconds: 5400,
    codec: 'h264',
    createdAt: at,
    updatedAt: at,
    publicKey: 'a'.repeat(64),
    // The store does not verify signatures (the routes do), so a placeholder measures the store alone.
    signature: 'b'.repeat(128),
  };
}

export type QueryKind = 'exact' | 'typo' | 'prefix' | 'reordered' | 'no accents';

/** Queries with a known answer, derived from stored titles. */
export function generateQueries(
  titles: string[],
  n: number,
  seed = 7,
): { kind: QueryKind; q: string; want: string }[] {
  const r = rng(seed);
  const kinds: QueryKind[] = ['exact', 'typo', 'prefix', 'reordered', 'no accents'];
  const out: { kind: QueryKind; q: string; want: string }[] = [];
  while (out.length < n) {
    const title = titles[Math.floor(r() * titles.length)]!;
    const words = title.split(' ').filter((w) => /\p{L}/u.test(w));
    const kind = kinds[out.length % kinds.length]!;
    let q = title;
    if (kind === 'typo') {
      const i = words.findIndex((w) => w.length >= 5);
      if (i < 0) continue;
      const w = words[i]!;
      const at = 1 + Math.floor(r() * (w.length - 2));
      words[i] = w.slice(0, at) + w.slice(at + 1); // one deleted letter
      q = words.join(' ');
    } else if (kind === 'prefix') {
      if (words.length < 2 || words.at(-1)!.length < 4) continue;
      q = [...words.slice(0, -1), words.at(-1)!.slice(0, 3)].join(' ');
    } else if (kind === 'reordered') {
      if (words.length < 2) continue;
      q = [...words].reverse().join(' ');
    } else if (kind === 'no accents') {
      if (!/\p{M}/u.test(title.normalize('NFKD'))) continue;
      q = title.normalize('NFKD').replace(/\p{M}/gu, '');
    }
    out.push({ kind, q, want: searchTokens(title).join(' ') });
  }
  return out;
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const ms = (x: number): string => (x < 1 ? x.toFixed(2) : x.toFixed(1));

interface Figures {
  n: number;
  bulkRate: number;
  sequentialRate: number;
  concurrentRate: number;
  openMs: number;
  logMiB: number;
  heapMiB: number;
  p50: number;
  p95: number;
  p99: number;
  byKind: Map<QueryKind, { p50: number; p95: number; recall: number }>;
  hostile: { q: string; total: number; ms: number }[];
}

/** Queries that cost the most: common words only, a common word's prefix, many short fuzzy words. */
export const HOSTILE_QUERIES = [
  'the',
  'th',
  'the of the',
  'st',
  'ri ve sta pol mar ten dor an el is ur qua zen bri tho mel',
  'abcdefghij klmnopqrst uvwxyzabcd efghijklmn opqrstuvwx',
];

async function measure(n: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'dream-bench-catalog-'));
  try {
    const titles = generateTitles(n);
    const entries = titles.map((t, i) => fakeEntry(i, t));
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let store = await openEmbeddedStore({ stateDir: dir });

    // Bulk import: putMany in batches of 500 (one fsync per batch), as an importer or a sync would.
    const BATCH = 500;
    let t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) await store.putMany(entries.slice(i, i + BATCH));
    const bulkRate = n / ((performance.now() - t0) / 1000);

    // One client writing one entry at a time, waiting for each (an fsync each).
    const SEQ = 500;
    const extra = generateTitles(SEQ + 4000, 99).map((t, i) => fakeEntry(n + i, t));
    t0 = performance.now();
    for (let i = 0; i < SEQ; i++) await store.put(extra[i]!);
    const sequentialRate = SEQ / ((performance.now() - t0) / 1000);

    // 64 writers at once (many clients on a bootstrap node): group commit shares each fsync.
    t0 = performance.now();
    let next = SEQ;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < extra.length) await store.put(extra[next++]!);
      }),
    );
    const concurrentRate = (extra.length - SEQ) / ((performance.now() - t0) / 1000);

    global.gc?.();
    const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    await store.close();
    const logMiB = statSync(join(dir, 'catalog', 'catalog.log')).size / 2 ** 20;
    t0 = performance.now();
    store = await openEmbeddedStore({ stateDir: dir });
    const openMs = performance.now() - t0;

    const queries = generateQueries(titles, 2000);
    for (const q of queries.slice(0, 100)) await store.search(q.q, { limit: 10 }); // warm-up
    const all: number[] = [];
    const per = new Map<QueryKind, { t: number[]; hits: number }>();
    for (const q of queries) {
      const s = performance.now();
      const res = await store.search(q.q, { limit: 10 });
      const dt = performance.now() - s;
      all.push(dt);
      const k = per.get(q.kind) ?? { t: [], hits: 0 };
      k.t.push(dt);
      if (res.results.some((x) => searchTokens(x.entry.title).join(' ') === q.want)) k.hits++;
      per.set(q.kind, k);
    }
    const hostile: { q: string; total: number; ms: number }[] = [];
    for (const q of HOSTILE_QUERIES) {
      const s = performance.now();
      const res = await store.search(q, { limit: 20 });
      hostile.push({ q, total: res.total, ms: performance.now() - s });
    }
    await store.close();
    all.sort((a, b) => a - b);
    const byKind = new Map<QueryKind, { p50: number; p95: number; recall: number }>();
    for (const [kind, k] of per) {
      k.t.sort((a, b) => a - b);
      byKind.set(kind, { p50: pct(k.t, 0.5), p95: pct(k.t, 0.95), recall: k.hits / k.t.length });
    }
    return {
      n,
      bulkRate,
      sequentialRate,
      concurrentRate,
      openMs,
      logMiB,
      heapMiB,
      p50: pct(all, 0.5),
      p95: pct(all, 0.95),
      p99: pct(all, 0.99),
      byKind,
      hostile,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<string> {
  const figures: Figures[] = [];
  for (const n of [10_000, 100_000]) figures.push(await measure(n));
  const kinds = [...figures[0]!.byKind.keys()];
  const lines = [
    '## Catalog (embedded store)',
    '',
    'Command: `pnpm build && node --import tsx bench/catalog.ts` (also run by `pnpm bench`).',
    `Machine: ${process.platform} ${process.arch}, Node ${process.version}; log on ${tmpdir()}.`,
    '',
    '| titles | bulk insert (putMany ×500) | one writer, put awaited | 64 writers | reopen (replay log) | log size | heap | search p50 | search p95 | search p99 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...figures.map(
      (f) =>
        `| ${f.n.toLocaleString('en')} | ${Math.round(f.bulkRate).toLocaleString('en')}/s | ${Math.round(f.sequentialRate).toLocaleString('en')}/s | ${Math.round(f.concurrentRate).toLocaleString('en')}/s | ${Math.round(f.openMs).toLocaleString('en')} ms | ${f.logMiB.toFixed(1)} MiB | ${f.heapMiB.toFixed(0)} MiB | ${ms(f.p50)} ms | ${ms(f.p95)} ms | ${ms(f.p99)} ms |`,
    ),
    '',
    'Search by kind of query (2,000 queries, limit 10; recall@10 = the intended title is in the first ten):',
    '',
    `| titles | ${kinds.map((k) => `${k} p50 / p95 / recall@10`).join(' | ')} |`,
    `|---:|${kinds.map(() => '---:').join('|')}|`,
    ...figures.map(
      (f) =>
        `| ${f.n.toLocaleString('en')} | ${kinds
          .map((k) => {
            const x = f.byKind.get(k)!;
            return `${ms(x.p50)} / ${ms(x.p95)} ms / ${(x.recall * 100).toFixed(1)}%`;
          })
          .join(' | ')} |`,
    ),
    '',
    'Costly queries (one run each, limit 20; common words are scanned, not scored through the index):',
    '',
    `| query | ${figures.map((f) => `${f.n.toLocaleString('en')} titles: hits, time`).join(' | ')} |`,
    `|---|${figures.map(() => '---:').join('|')}|`,
    ...HOSTILE_QUERIES.map(
      (q, i) =>
        `| \`${q}\` | ${figures.map((f) => `${f.hostile[i]!.total.toLocaleString('en')}, ${ms(f.hostile[i]!.ms)} ms`).join(' | ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await run()}\n`);
}

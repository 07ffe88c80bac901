/**
 * The Elasticsearch store. No Elasticsearch server can be installed on these machines, so:
 * - the mapping and the query bodies are checked as pure functions;
 * - the client's requests are checked against a FAKE Elasticsearch: a small HTTP server on 127.0.0.1
 *   that records what it receives and answers like Elasticsearch 8 would (it does not search);
 * - the full contract suite runs against a real server only when DREAM_TEST_ELASTICSEARCH_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildElasticQuery, elasticIndexBody, generateSigningKey } from '@dream/catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Not exported by the package (openCatalogStore loads it on demand): imported from its module.
import { openElasticStore } from '../src/elastic/store.js';
import { contractSuite } from './contract.js';
import { entry, hashOf } from './helpers.js';

describe('mapping (pure)', () => {
  const body = elasticIndexBody();
  const props = (body.mappings as { properties: Record<string, Record<string, unknown>> }).properties;

  it('title is accent- and case-folded text with a keyword and a search-as-you-type subfield', () => {
    const analyzer = (body.settings as { analysis: { analyzer: Record<string, { filter: string[] }> } })
      .analysis.analyzer;
    expect(props.title).toMatchObject({ type: 'text', analyzer: 'dream_title' });
    expect(analyzer.dream_title?.filter).toEqual(['lowercase', 'asciifolding']);
    const fields = props.title!.fields as Record<string, Record<string, unknown>>;
    expect(fields.keyword).toMatchObject({ type: 'keyword', normalizer: 'dream_keyword' });
    expect(fields.prefix).toMatchObject({ type: 'search_as_you_type' });
  });

  it('identifiers are keywords; the mapping is strict', () => {
    expect(props.infohash).toEqual({ type: 'keyword' });
    expect(props.publicKey).toEqual({ type: 'keyword' });
    expect(props.titleNorm).toMatchObject({ type: 'keyword' });
    expect(props.createdAt).toEqual({ type: 'date' });
    expect((body.mappings as { dynamic: string }).dynamic).toBe('strict');
  });
});

describe('search query (pure)', () => {
  it('normalises the words, asks for every word with fuzziness AUTO, the last as a prefix, and boosts exact titles', () => {
    const q = buildElasticQuery('  Amélie   INTERSTELAR ', { limit: 20, offset: 40 });
    expect(q.from).toBe(40);
    expect(q.size).toBe(20);
    expect(q.track_total_hits).toBe(true);
    const should = (q.query as { bool: { should: Record<string, Record<string, unknown>>[] } }).bool.should;
    expect(should[0]!.multi_match).toMatchObject({
      query: 'amelie interstelar',
      type: 'bool_prefix',
      fuzziness: 'AUTO',
      operator: 'and',
      fields: ['title.prefix', 'title.prefix._2gram', 'title.prefix._3gram'],
    });
    expect(should[1]!.match).toEqual({
      title: { query: 'amelie interstelar', fuzziness: 'AUTO', operator: 'and' },
    });
    expect(should[2]!.match_phrase).toMatchObject({ title: { query: 'amelie interstelar' } });
    expect(should[3]!.term).toEqual({ titleNorm: { value: 'amelie interstelar', boost: 20 } });
    expect(q.sort[0]).toBe('_score');
  });

  it('the fallback uses OR', () => {
    const q = buildElasticQuery('tears of steel 2012', { limit: 1, offset: 0 }, 'or');
    const should = (q.query as { bool: { should: Record<string, Record<string, unknown>>[] } }).bool.should;
    expect(should[0]!.multi_match).toMatchObject({ operator: 'or' });
  });
});

interface Recorded {
  method: string;
  path: string;
  body: string;
}

/** A fake Elasticsearch 8 (see the file comment): records requests, answers with canned bodies. */
async function fakeElasticsearch(answer: (r: Recorded) => { status: number; body?: unknown }) {
  const requests: Recorded[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => resolve(s));
    });
  const server: Server = createServer(async (req, res) => {
    const r = { method: req.method ?? '', path: req.url ?? '', body: await read(req) };
    requests.push(r);
    const { status, body } = answer(r);
    // The official client refuses to talk to a server that does not say it is Elasticsearch.
    res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

describe('ElasticStore against a fake Elasticsearch (no real server is installable here)', () => {
  const key = generateSigningKey();
  const e1 = entry(key, 1, 'Amélie');
  let fake: Awaited<ReturnType<typeof fakeElasticsearch>>;
  let searches = 0;

  beforeAll(async () => {
    fake = await fakeElasticsearch((r) => {
      if (r.method === 'HEAD') return { status: 404 };
      if (r.method === 'PUT' && /^\/dream-videos(-tombstones)?$/.test(r.path))
        return { status: 200, body: { acknowledged: true } };
      if (r.path.startsWith('/dream-videos/_doc/')) {
        if (r.method === 'GET') return { status: 404, body: { found: false } };
        if (r.method === 'DELETE') return { status: 200, body: { result: 'deleted' } };
        return { status: 201, body: { result: 'created', _id: hashOf(1) } };
      }
      if (r.path.startsWith('/dream-videos-tombstones/_doc/'))
        return { status: 201, body: { result: 'created' } };
      if (r.path.startsWith('/_bulk')) {
        return {
          status: 200,
          body: {
            errors: false,
            items: [{ index: { result: 'created' } }, { index: { result: 'updated' } }],
          },
        };
      }
      if (r.path.startsWith('/dream-videos/_search')) {
        searches++;
        // The first (AND) search finds nothing, so the store must retry with OR.
        const hits = searches % 2 === 1 ? [] : [{ _source: { ...e1, titleNorm: 'amelie' }, _score: 3.5 }];
        return { status: 200, body: { hits: { total: { value: hits.length }, hits } } };
      }
      return { status: 400, body: { error: { type: 'unexpected', reason: `${r.method} ${r.path}` } } };
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('creates both indices with their mappings on first start', async () => {
    const store = await openElasticStore({ node: fake.url, index: 'dream-videos' });
    await store.close();
    const creates = fake.requests.filter((r) => r.method === 'PUT' && !r.path.includes('_doc'));
    expect(creates.map((r) => r.path)).toEqual(['/dream-videos', '/dream-videos-tombstones']);
    const sent = JSON.parse(creates[0]!.body);
    expect(sent.mappings).toEqual(elasticIndexBody().mappings);
    expect(sent.settings).toEqual(elasticIndexBody().settings);
  });

  it('upserts by infohash (id = infohash) and waits for refresh', async () => {
    const store = await openElasticStore({ node: fake.url, index: 'dream-videos' });
    try {
      expect(await store.put(e1)).toBe('created');
      const w = fake.requests.find(
        (r) => r.path.startsWith(`/dream-videos/_doc/${e1.infohash}`) && r.method === 'PUT',
      );
      expect(w?.path).toContain('refresh=wait_for');
      const doc = JSON.parse(w!.body);
      expect(doc.titleNorm).toBe('amelie');
      expect(doc.infohash).toBe(e1.infohash);
      expect(doc.signature).toBe(e1.signature);
    } finally {
      await store.close();
    }
  });

  it('putMany is one bulk request', async () => {
    const store = await openElasticStore({ node: fake.url, index: 'dream-videos' });
    try {
      const before = fake.requests.length;
      expect(await store.putMany([e1, entry(key, 2, 'Sintel')])).toEqual(['created', 'updated']);
      const sent = fake.requests.slice(before);
      expect(sent).toHaveLength(1);
      const lines = sent[0]!.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toEqual({ index: { _index: 'dream-videos', _id: e1.infohash } });
      expect(lines[3].title).toBe('Sintel');
    } finally {
      await store.close();
    }
  });

  it('search sends the built query, retries with OR when AND finds nothing, and maps hits to entries', async () => {
    const store = await openElasticStore({ node: fake.url, index: 'dream-videos' });
    try {
      const before = fake.requests.length;
      const res = await store.search('amelie poulain', { limit: 5 });
      const sent = fake.requests.slice(before).map((r) => JSON.parse(r.body));
      expect(sent).toHaveLength(2);
      expect(sent[0]).toEqual(buildElasticQuery('amelie poulain', { limit: 5, offset: 0 }, 'and'));
      expect(sent[1]).toEqual(buildElasticQuery('amelie poulain', { limit: 5, offset: 0 }, 'or'));
      expect(res).toEqual({ total: 1, results: [{ entry: e1, score: 3.5 }] });
    } finally {
      await store.close();
    }
  });

  it('delete writes a tombstone, then deletes the document; a missing entry is not an error', async () => {
    const store = await openElasticStore({ node: fake.url, index: 'dream-videos' });
    try {
      const at = new Date().toISOString();
      expect(await store.delete(e1.infohash, at)).toBe(true);
      const t = fake.requests.find((r) => r.path.startsWith(`/dream-videos-tombstones/_doc/${e1.infohash}`));
      expect(JSON.parse(t!.body)).toEqual({ infohash: e1.infohash, deletedAt: at });
      expect(await store.get(e1.infohash)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('an unreachable server fails the open with the URL in the message', async () => {
    await expect(
      openElasticStore({ node: 'http://127.0.0.1:1', index: 'x', requestTimeoutMs: 2000 }),
    ).rejects.toThrow(/127\.0\.0\.1:1/);
  });
});

// The real thing, only where an Elasticsearch server exists: none can be installed on these machines.
const ES_URL = process.env.DREAM_TEST_ELASTICSEARCH_URL;
if (!ES_URL) {
  console.log(
    'elastic.test.ts: contract suite against Elasticsearch SKIPPED: DREAM_TEST_ELASTICSEARCH_URL is not set ' +
      '(no Elasticsearch server can be installed on this machine; the mapping, queries and requests are tested above).',
  );
}
describe.skipIf(!ES_URL)('Elasticsearch server at DREAM_TEST_ELASTICSEARCH_URL', () => {
  contractSuite('elasticsearch', async () => {
    // A fresh index per test, so tests do not see each other's entries.
    const index = `dream-test-${randomBytes(6).toString('hex')}`;
    return { store: await openElasticStore({ node: ES_URL!, index }) };
  });
});

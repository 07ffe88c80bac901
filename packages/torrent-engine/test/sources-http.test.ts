import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnnounceRequest } from '../src/sources/announce.js';
import { SourceError } from '../src/sources/errors.js';
import { buildAnnounceUrl, httpAnnounce, percentEncodeBytes } from '../src/sources/http-tracker.js';
import { encodeCompactV4, encodeCompactV6 } from '../src/sources/peers.js';
import { benc, HttpTracker } from './sources-tracker-server.js';

const infohash = Uint8Array.from({ length: 20 }, (_, i) => (i * 37 + 200) & 0xff); // bytes above 0x7f on purpose
const peerId = Uint8Array.from(Buffer.from('-DR0100-abcdefghijkl', 'latin1'));
const req = (extra: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infohash,
  peerId,
  port: 6881,
  uploaded: 10,
  downloaded: 20,
  left: 30,
  numwant: 50,
  key: 0xdeadbeef,
  ...extra,
});
const enc = benc;

describe('HTTP tracker announce', () => {
  let tracker: HttpTracker;
  beforeAll(async () => {
    tracker = await new HttpTracker().start();
  });
  afterAll(() => tracker.close());

  it('percent-encodes every non-unreserved byte', () => {
    expect(percentEncodeBytes(Uint8Array.from([0x41, 0x20, 0xff, 0x7e, 0x2f]))).toBe('A%20%FF~%2F');
    const url = buildAnnounceUrl(
      'http://t.example/a?passkey=x#frag',
      req({ event: 'started', trackerId: 'id 1' }),
    );
    expect(url.startsWith('http://t.example/a?passkey=x&info_hash=')).toBe(true);
    expect(url).toContain('&event=started');
    expect(url).toContain('&trackerid=id%201');
    expect(url).toContain('&key=deadbeef');
    expect(url).not.toContain('#');
  });

  it('sends the raw infohash and peer id bytes and the counters, and parses compact peers', async () => {
    tracker.reply = () => ({
      body: enc({
        interval: 1200,
        'min interval': 300,
        complete: 4,
        incomplete: 2,
        'tracker id': 'abc',
        peers: Buffer.from(
          encodeCompactV4([
            { host: '10.0.0.1', port: 6881 },
            { host: '192.168.1.200', port: 51413 },
          ]),
        ),
      }),
    });
    const res = await httpAnnounce(tracker.url, req({ event: 'started' }));
    const q = tracker.requests.at(-1)!;
    expect(Buffer.compare(q.get('info_hash')!, Buffer.from(infohash))).toBe(0);
    expect(q.get('peer_id')!.toString('latin1')).toBe('-DR0100-abcdefghijkl');
    expect(q.get('port')!.toString()).toBe('6881');
    expect(q.get('uploaded')!.toString()).toBe('10');
    expect(q.get('downloaded')!.toString()).toBe('20');
    expect(q.get('left')!.toString()).toBe('30');
    expect(q.get('event')!.toString()).toBe('started');
    expect(q.get('compact')!.toString()).toBe('1');
    expect(q.get('numwant')!.toString()).toBe('50');
    expect(res.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '192.168.1.200', port: 51413 },
    ]);
    expect(res).toMatchObject({
      interval: 1200,
      minInterval: 300,
      complete: 4,
      incomplete: 2,
      trackerId: 'abc',
    });
  });

  it('parses non-compact peers (dictionaries) and BEP 7 peers6, skipping invalid entries', async () => {
    tracker.reply = () => ({
      body: enc({
        interval: 60,
        peers: [
          { ip: '10.1.2.3', port: 1000, 'peer id': 'x'.repeat(20) },
          { ip: 'seed.example.org', port: 2000 },
          { ip: '10.1.2.4', port: 0 }, // unusable
          { ip: 'bad host!', port: 3000 }, // not a host
          { port: 4000 }, // no ip
          'garbage',
        ],
        peers6: Buffer.from(encodeCompactV6([{ host: '2001:db8::1', port: 7000 }])),
      }),
    });
    const res = await httpAnnounce(tracker.url, req());
    expect(res.peers).toEqual([
      { host: '10.1.2.3', port: 1000 },
      { host: 'seed.example.org', port: 2000 },
      { host: '2001:db8::1', port: 7000 },
    ]);
    expect(res.interval).toBe(60);
  });

  it('turns "failure reason" into TRACKER_FAILURE and keeps "warning message"', async () => {
    tracker.reply = () => ({ body: enc({ 'failure reason': 'unregistered torrent' }) });
    await expect(httpAnnounce(tracker.url, req())).rejects.toMatchObject({
      code: 'TRACKER_FAILURE',
      message: 'tracker refused the announce: unregistered torrent',
    });
    tracker.reply = () => ({
      body: enc({ interval: 900, peers: Buffer.alloc(0), 'warning message': 'be nice' }),
    });
    const res = await httpAnnounce(tracker.url, req());
    expect(res.warning).toBe('be nice');
    expect(res.peers).toEqual([]);
  });

  it('refuses a response over the size cap, both with and without Content-Length', async () => {
    tracker.reply = () => ({ body: enc({ interval: 60, peers: Buffer.alloc(2 << 20) }) });
    await expect(httpAnnounce(tracker.url, req())).rejects.toMatchObject({
      code: 'TRACKER_RESPONSE_TOO_LARGE',
    });
    await expect(httpAnnounce(tracker.url, req(), { maxResponseBytes: 100 })).rejects.toMatchObject({
      code: 'TRACKER_RESPONSE_TOO_LARGE',
    });
  });

  it.each([
    ['not bencode', 'this is html', 'TRACKER_BAD_RESPONSE'],
    ['a list', 'le', 'TRACKER_BAD_RESPONSE'],
    ['no interval', 'd5:peers0:e', 'TRACKER_BAD_RESPONSE'],
    ['peers of a wrong type', 'd8:intervali60e5:peersi3ee', 'TRACKER_BAD_RESPONSE'],
    ['deep nesting', `d8:intervali60e1:x${'l'.repeat(5000)}${'e'.repeat(5000)}e`, 'TRACKER_BAD_RESPONSE'],
    ['a string past the end', 'd8:intervali60e5:peers99999:abce', 'TRACKER_BAD_RESPONSE'],
  ])('rejects %s with a clear error', async (_name, body, code) => {
    tracker.reply = () => ({ body });
    const err = await httpAnnounce(tracker.url, req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe(code);
    expect((err as SourceError).message.length).toBeGreaterThan(10);
  });

  it('reports HTTP errors, timeouts, refused connections and unsupported URLs', async () => {
    tracker.reply = () => ({ status: 404, body: 'nope' });
    await expect(httpAnnounce(tracker.url, req())).rejects.toMatchObject({
      code: 'TRACKER_HTTP_STATUS',
      message: 'tracker answered HTTP 404',
    });
    tracker.reply = () => ({ body: '', hang: true });
    await expect(httpAnnounce(tracker.url, req(), { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'TRACKER_TIMEOUT',
    });
    const closed = await new HttpTracker().start();
    const deadUrl = closed.url;
    await closed.close();
    await expect(httpAnnounce(deadUrl, req())).rejects.toMatchObject({ code: 'TRACKER_NETWORK' });
    await expect(httpAnnounce('ftp://x/announce', req())).rejects.toMatchObject({
      code: 'TRACKER_URL_UNSUPPORTED',
    });
  });

  it('follows a redirect, but not a loop', async () => {
    tracker.reply = (q) =>
      q.get(':path')!.toString() === '/announce'
        ? { status: 302, body: '', headers: { location: '/moved?passkey=1' } }
        : {
            body: enc({ interval: 60, peers: Buffer.from(encodeCompactV4([{ host: '10.0.0.8', port: 8 }])) }),
          };
    const res = await httpAnnounce(tracker.url, req());
    expect(res.peers).toEqual([{ host: '10.0.0.8', port: 8 }]);
    expect(tracker.requests.at(-1)!.get(':path')!.toString()).toBe('/moved');
    tracker.reply = () => ({ status: 302, body: '', headers: { location: '/announce' } });
    await expect(httpAnnounce(tracker.url, req())).rejects.toMatchObject({
      code: 'TRACKER_HTTP_STATUS',
      message: 'tracker answered HTTP 302',
    });
  });

  it('stops at once when aborted', async () => {
    tracker.reply = () => ({ body: '', hang: true });
    const ac = new AbortController();
    const p = httpAnnounce(tracker.url, req(), { signal: ac.signal, timeoutMs: 30_000 });
    await tracker.nextRequest();
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'TRACKER_ABORTED' });
  });
});

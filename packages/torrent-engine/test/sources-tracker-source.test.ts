import { afterEach, describe, expect, it } from 'vitest';
import { encodeCompactV4 } from '../src/sources/peers.js';
import {
  type TrackerSourceOptions,
  TrackerTierSource,
  trackerSources,
} from '../src/sources/tracker-source.js';
import type { PeerAddress, PeerSourceContext } from '../src/sources/types.js';
import { benc, captureLog, HttpTracker, UdpTracker, waitFor } from './sources-tracker-server.js';

const INFOHASH = 'c9e15763f722f23e98a29decdfae341b98d53056';

function context(log = captureLog()) {
  const found: { peers: PeerAddress[]; source: string }[] = [];
  const stats = { uploaded: 0, downloaded: 0, left: 1000 };
  const ctx: PeerSourceContext = {
    infohash: INFOHASH,
    port: 6881,
    stats: () => ({ ...stats }),
    onPeers: (peers, source) => found.push({ peers, source }),
    log: log.log,
  };
  return { ctx, found, stats, log };
}

// Fast timings: the policy is the same, the numbers shrink so a test takes milliseconds.
const fast: TrackerSourceOptions = {
  intervalBounds: { minMs: 50, maxMs: 60_000 },
  retry: { baseMs: 30, maxMs: 120 },
  earlyAnnounceFloorMs: 0,
  announceTimeoutMs: 5_000,
  stopTimeoutMs: 500,
  udp: { baseTimeoutMs: 200, maxRetransmits: 1 },
};
const okBody = (peers: PeerAddress[], interval = 1800) =>
  benc({ interval, peers: Buffer.from(encodeCompactV4(peers)) });

describe('tracker tier source (BEP 12 + timing)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const http = async () => {
    const t = await new HttpTracker().start();
    cleanup.push(() => t.close());
    return t;
  };

  it('keeps only supported, distinct URLs and one source per tier', () => {
    const sources = trackerSources([
      ['wss://tracker.webtorrent.dev', 'http://a.example/announce'],
      ['http://a.example/announce', 'udp://b.example:80'],
      ['ws://c.example', 'nonsense'],
      [],
    ]);
    expect(sources.map((s) => (s as TrackerTierSource).trackers)).toEqual([
      ['http://a.example/announce'],
      ['udp://b.example:80'],
    ]);
  });

  it('falls through a dead tracker to a working one, moves it to the front and warns once', async () => {
    const good = await http();
    good.reply = () => ({ body: okBody([{ host: '10.0.0.5', port: 5000 }], 0) }); // interval 0: clamped to 50 ms
    const dead = await new HttpTracker().start();
    const deadUrl = dead.url;
    await dead.close();
    const { ctx, found, log } = context();
    // random() = 0 shuffles [a, b] into [b, a]: list the dead one second so it ends up first.
    const source = new TrackerTierSource([good.url, deadUrl], { ...fast, random: () => 0 });
    expect(source.trackers[0]).toBe(deadUrl);
    cleanup.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => good.requests.length >= 3); // re-announces on the clamped interval
    expect(found[0]).toEqual({ peers: [{ host: '10.0.0.5', port: 5000 }], source: `tracker ${good.url}` });
    expect(source.trackers[0]).toBe(good.url);
    expect(good.requests[0]!.get('event')?.toString()).toBe('started');
    expect(good.requests[1]!.get('event')).toBeUndefined();
    const warnings = log.warnings().filter((w) => w.includes(deadUrl));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tracker connection failed: ECONNREFUSED; retrying with back-off/);
  });

  it('backs off while the tracker fails, warns once, and recovers', async () => {
    const t = await http();
    t.reply = () => ({ status: 500, body: 'down' });
    const { ctx, found, log } = context();
    const source = new TrackerTierSource([t.url], fast);
    cleanup.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => t.requests.length >= 4);
    expect(log.warnings()).toEqual([
      `tracker ${t.url} failed: tracker answered HTTP 500; retrying with back-off`,
    ]);
    // every retry still says "started": the tracker never acknowledged it
    expect(t.requests.every((q) => q.get('event')?.toString() === 'started')).toBe(true);
    t.reply = () => ({ body: okBody([{ host: '10.9.9.9', port: 9 }]) });
    await waitFor(() => found.length > 0);
    expect(found[0]!.peers).toEqual([{ host: '10.9.9.9', port: 9 }]);
    await waitFor(() => log.lines.some((l) => l.msg === `tracker ${t.url} answers again`));
  });

  it('warns once per process about a tracker that many torrents share', async () => {
    const t = await http();
    t.reply = () => ({ status: 503, body: 'busy' });
    const log = captureLog();
    const sources = [0, 1, 2].map(() => new TrackerTierSource([t.url], fast));
    for (const s of sources) {
      cleanup.push(() => s.stop());
      s.start(context(log).ctx);
    }
    await waitFor(() => t.requests.length >= 9);
    expect(log.warnings()).toEqual([
      `tracker ${t.url} failed: tracker answered HTTP 503; retrying with back-off`,
    ]);
  });

  it('logs the tracker warning message and follows "tracker id"', async () => {
    const t = await http();
    t.reply = () => ({
      body: benc({
        interval: 0,
        peers: Buffer.alloc(0),
        'tracker id': 'T-42',
        'warning message': 'slow down',
      }),
    });
    const { ctx, log } = context();
    const source = new TrackerTierSource([t.url], fast);
    cleanup.push(() => source.stop());
    source.start(ctx);
    await waitFor(() => t.requests.length >= 2);
    expect(t.requests[1]!.get('trackerid')?.toString()).toBe('T-42');
    expect(log.warnings()).toContain(`tracker ${t.url} warns: slow down`);
  });

  it('announces early on needMorePeers, sends completed once the download is done, and stopped on stop', async () => {
    const t = await http();
    t.reply = () => ({ body: okBody([{ host: '10.0.0.1', port: 1 }], 3600) });
    const { ctx, stats } = context();
    const source = new TrackerTierSource([t.url], fast);
    source.start(ctx);
    await waitFor(() => t.requests.length >= 1);
    stats.left = 0;
    stats.downloaded = 1000;
    source.needMorePeers(); // the interval is an hour; only this can trigger the next announce
    await waitFor(() => t.requests.length >= 2);
    expect(t.requests[1]!.get('event')?.toString()).toBe('completed');
    expect(t.requests[1]!.get('left')?.toString()).toBe('0');
    await source.stop();
    const last = t.requests.at(-1)!;
    expect(last.get('event')?.toString()).toBe('stopped');
    expect(last.get('numwant')?.toString()).toBe('0');
  });

  it('stop() does not wait for a hanging tracker longer than its short deadline', async () => {
    const t = await http();
    t.reply = () => ({ body: okBody([], 3600) });
    const { ctx } = context();
    const source = new TrackerTierSource([t.url], fast);
    source.start(ctx);
    await waitFor(() => t.requests.length >= 1);
    await waitFor(() => (source as unknown as { lastTracker?: string }).lastTracker);
    t.reply = () => ({ body: '', hang: true });
    const began = Date.now();
    await source.stop();
    expect(t.requests.at(-1)!.get('event')?.toString()).toBe('stopped');
    expect(Date.now() - began).toBeLessThan(20_000); // bounded by stopTimeoutMs (500 ms), generous for CI
  });

  it('works with a UDP tracker in the tier and says stopped over UDP', async () => {
    const u = await new UdpTracker().start();
    cleanup.push(() => u.close());
    u.peers = Buffer.from(encodeCompactV4([{ host: '10.0.0.77', port: 7777 }]));
    const { ctx, found } = context();
    const source = new TrackerTierSource([u.url], fast);
    source.start(ctx);
    await waitFor(() => found.length > 0);
    expect(found[0]).toEqual({ peers: [{ host: '10.0.0.77', port: 7777 }], source: `tracker ${u.url}` });
    await source.stop();
    expect(u.announces().at(-1)!.readUInt32BE(80)).toBe(3); // stopped
  });

  it('never throws on a bad infohash: logs an error instead', () => {
    const { ctx, log } = context();
    const source = new TrackerTierSource(['http://127.0.0.1:1/announce'], fast);
    source.start({ ...ctx, infohash: 'xyz' });
    expect(log.lines.some((l) => l.level === 50 && /40 hex/.test(l.msg))).toBe(true);
  });
});

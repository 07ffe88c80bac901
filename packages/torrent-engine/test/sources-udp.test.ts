import { afterEach, describe, expect, it } from 'vitest';
import type { AnnounceRequest } from '../src/sources/announce.js';
import { encodeCompactV4, encodeCompactV6 } from '../src/sources/peers.js';
import { udpAnnounce } from '../src/sources/udp-tracker.js';
import { UdpTracker } from './sources-tracker-server.js';

const infohash = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const peerId = Uint8Array.from(Buffer.from('-DR0100-abcdefghijkl', 'latin1'));
const req = (extra: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infohash,
  peerId,
  port: 51413,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  numwant: 50,
  key: 0x01020304,
  event: 'started',
  ...extra,
});
// Retransmissions after 50 ms, 100 ms, ...: BEP 15's 15 s scaled down so the test stays short.
const fast = { baseTimeoutMs: 50, maxRetransmits: 3, timeoutMs: 20_000 };

describe('UDP tracker announce (BEP 15)', () => {
  const trackers: UdpTracker[] = [];
  const start = async (family: 4 | 6 = 4) => {
    const t = await new UdpTracker(family).start();
    trackers.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((t) => t.close()));
  });

  it('connects, announces with the BEP 15 layout and parses peers and interval', async () => {
    const t = await start();
    t.peers = Buffer.from(
      encodeCompactV4([
        { host: '10.0.0.9', port: 6881 },
        { host: '10.0.0.10', port: 6882 },
      ]),
    );
    t.interval = 1234;
    const res = await udpAnnounce(t.url, req(), fast);
    expect(res.peers).toEqual([
      { host: '10.0.0.9', port: 6881 },
      { host: '10.0.0.10', port: 6882 },
    ]);
    expect(res).toMatchObject({ interval: 1234, incomplete: 3, complete: 7 });
    const [a] = t.announces();
    expect(a).toBeDefined();
    expect(a!.length).toBe(98);
    expect(Buffer.compare(a!.subarray(16, 36), Buffer.from(infohash))).toBe(0);
    expect(a!.subarray(36, 56).toString('latin1')).toBe('-DR0100-abcdefghijkl');
    expect(a!.readBigUInt64BE(56)).toBe(2n); // downloaded
    expect(a!.readBigUInt64BE(64)).toBe(3n); // left
    expect(a!.readBigUInt64BE(72)).toBe(1n); // uploaded
    expect(a!.readUInt32BE(80)).toBe(2); // started
    expect(a!.readUInt32BE(88)).toBe(0x01020304); // key
    expect(a!.readInt32BE(92)).toBe(50); // numwant
    expect(a!.readUInt16BE(96)).toBe(51413);
  });

  it('sends the URL path and query as BEP 41 URLData options', async () => {
    const t = await start();
    const long = `/announce/${'k'.repeat(300)}?passkey=abc`;
    await udpAnnounce(`${t.url}${long}`, req(), fast);
    const a = t.announces()[0]!;
    const opts = a.subarray(98);
    // 0x02 len data (255 max per option) ..., then 0x00
    let i = 0;
    let data = '';
    while (opts[i] === 0x02) {
      const len = opts[i + 1]!;
      expect(len).toBeLessThanOrEqual(255);
      data += opts.subarray(i + 2, i + 2 + len).toString();
      i += 2 + len;
    }
    expect(opts[i]).toBe(0x00);
    expect(data).toBe(long);
    await udpAnnounce(t.url, req(), fast);
    expect(t.announces()[1]!.length).toBe(98); // no path: no options
  });

  it('uses 18-byte peers over IPv6', async () => {
    const t = await start(6);
    t.peers = Buffer.from(encodeCompactV6([{ host: '2001:db8::7', port: 1234 }]));
    const res = await udpAnnounce(t.url, req(), fast);
    expect(res.peers).toEqual([{ host: '2001:db8::7', port: 1234 }]);
  });

  it('retransmits when a request goes unanswered, then succeeds', async () => {
    const t = await start();
    t.behaviour = 'drop-first';
    t.peers = Buffer.from(encodeCompactV4([{ host: '10.0.0.1', port: 1 }]));
    // 500 ms before the first retransmission: long enough that a busy machine does not retransmit early.
    const res = await udpAnnounce(t.url, req(), { ...fast, baseTimeoutMs: 500 });
    expect(res.peers).toEqual([{ host: '10.0.0.1', port: 1 }]);
    // the connect and the announce were each sent again after the first went unanswered
    expect(t.received.filter((r) => r.action === 0).length).toBeGreaterThanOrEqual(2);
    expect(t.announces().length).toBeGreaterThanOrEqual(2);
  });

  it('gives up after the capped number of retransmissions with TRACKER_TIMEOUT', async () => {
    const t = await start();
    t.behaviour = 'silent';
    await expect(udpAnnounce(t.url, req(), { baseTimeoutMs: 20, maxRetransmits: 2 })).rejects.toMatchObject({
      code: 'TRACKER_TIMEOUT',
      message: expect.stringContaining('after 3 tries'),
    });
    expect(t.received.length).toBe(3);
  });

  it('ignores replies with a wrong transaction id', async () => {
    const t = await start();
    t.behaviour = 'wrong-tid';
    t.peers = Buffer.from(encodeCompactV4([{ host: '10.0.0.2', port: 2 }]));
    const res = await udpAnnounce(t.url, req(), fast);
    expect(res.peers).toEqual([{ host: '10.0.0.2', port: 2 }]);
  });

  it('reports the error action with the tracker message', async () => {
    const t = await start();
    t.behaviour = 'error';
    await expect(udpAnnounce(t.url, req(), fast)).rejects.toMatchObject({
      code: 'TRACKER_FAILURE',
      message: 'tracker refused the request: infohash not whitelisted',
    });
  });

  it.each([['truncated-connect'], ['truncated-announce']] as const)(
    'rejects a %s reply clearly',
    async (b) => {
      const t = await start();
      t.behaviour = b;
      await expect(udpAnnounce(t.url, req(), fast)).rejects.toMatchObject({
        code: 'TRACKER_BAD_RESPONSE',
        message: expect.stringMatching(/reply of 1[25] bytes/),
      });
    },
  );

  it('reconnects when the connection id is older than a minute before retransmitting', async () => {
    const t = await start();
    t.behaviour = 'drop-first';
    let clock = 0;
    // Every reading of the clock advances it 40 s, so the announce retransmission finds the id expired.
    const res = await udpAnnounce(t.url, req(), {
      ...fast,
      now: () => {
        clock += 40_000;
        return clock;
      },
    });
    expect(res.interval).toBe(1800);
    expect(t.connectionIds.size).toBeGreaterThanOrEqual(2);
  });

  it('refuses malformed URLs and honours the overall deadline and abort', async () => {
    await expect(udpAnnounce('udp://127.0.0.1', req(), fast)).rejects.toMatchObject({
      code: 'TRACKER_URL_UNSUPPORTED',
    });
    const t = await start();
    t.behaviour = 'silent';
    await expect(udpAnnounce(t.url, req(), { baseTimeoutMs: 10_000, timeoutMs: 100 })).rejects.toMatchObject({
      code: 'TRACKER_TIMEOUT',
    });
    const ac = new AbortController();
    const p = udpAnnounce(t.url, req(), { baseTimeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'TRACKER_ABORTED' });
  });
});

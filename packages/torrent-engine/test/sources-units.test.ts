import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bdecode } from '../src/sources/bdecode.js';
import { SOURCE_ERROR_CODES, SourceError } from '../src/sources/errors.js';
import { PeerSourceSet } from '../src/sources/peer-source-set.js';
import {
  encodeCompactV4,
  encodeCompactV6,
  normalizeHost,
  normalizePeer,
  parseCompactV4,
  parseCompactV6,
  peerKey,
} from '../src/sources/peers.js';
import { PEX_MAX_PEERS, parsePex } from '../src/sources/pex.js';
import {
  announceDelayMs,
  backoffDelayMs,
  earlyAnnounceSpacingMs,
  normalizeTiers,
  promote,
  shuffle,
} from '../src/sources/policy.js';
import { staticSource } from '../src/sources/static-source.js';
import type { PeerAddress, PeerSource, PeerSourceContext } from '../src/sources/types.js';
import { benc, captureLog } from './sources-tracker-server.js';

describe('bdecode (bounded)', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  it('decodes the four types, with dictionaries that cannot touch prototypes', () => {
    const v = bdecode(b('d3:bar4:spam3:fooi-42e4:listli1ei2ee9:__proto__i1ee')) as Record<string, unknown>;
    expect(Buffer.from(v.bar as Uint8Array).toString()).toBe('spam');
    expect(v.foo).toBe(-42);
    expect(v.list).toEqual([1, 2]);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toBe(1);
    expect(Object.getPrototypeOf(v)).toBeNull();
  });
  it.each([
    ['i-0e', /negative zero/],
    ['i03e', /leading zero/],
    ['i12', /unterminated/],
    ['ie', /empty number/],
    ['i99999999999999999999e', /out of range/],
    ['5:abc', /runs past the end/],
    ['-1:a', /unexpected byte 0x2d/],
    ['l', /unterminated list|unexpected end/],
    ['di1ei2ee', /key is not a string/],
    ['i1ei2e', /trailing bytes/],
    ['x', /unexpected byte/],
    ['', /unexpected end/],
  ])('refuses %j with a precise error', (input, re) => {
    const err = (() => {
      try {
        bdecode(b(input));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('BENCODE_INVALID');
    expect((err as SourceError).message).toMatch(re);
  });
  it('enforces size, depth and token limits', () => {
    expect(() => bdecode(b('0:'), { maxBytes: 1 })).toThrow(/exceeds 1/);
    expect(() => bdecode(b(`${'l'.repeat(17)}${'e'.repeat(17)}`))).toThrow(/nesting deeper than 16/);
    expect(() => bdecode(b(`l${'i1e'.repeat(100)}e`), { maxTokens: 50 })).toThrow(/more than 50 values/);
    // a million nested lists must not blow the stack: the depth limit stops it first
    expect(() =>
      bdecode(b(`${'l'.repeat(1_000_000)}${'e'.repeat(1_000_000)}`), { maxBytes: 4 << 20 }),
    ).toThrow(/nesting/);
  });
});

describe('peer addresses', () => {
  it('round-trips compact IPv4 and IPv6 and skips port 0 and partial entries', () => {
    const v4: PeerAddress[] = [
      { host: '1.2.3.4', port: 65535 },
      { host: '255.0.0.1', port: 1 },
    ];
    const bytes4 = encodeCompactV4(v4);
    expect(parseCompactV4(bytes4)).toEqual(v4);
    expect(parseCompactV4(Uint8Array.from([...bytes4, 9, 9, 9]))).toEqual(v4);
    expect(parseCompactV4(Uint8Array.from([1, 2, 3, 4, 0, 0]))).toEqual([]);
    const v6: PeerAddress[] = [
      { host: '2001:db8::1', port: 80 },
      { host: 'fe80::abcd:1', port: 6881 },
    ];
    expect(parseCompactV6(encodeCompactV6(v6))).toEqual(v6);
    expect(parseCompactV4(bytes4, 1)).toHaveLength(1);
  });
  it('normalises hosts so one peer has one key', () => {
    expect(normalizeHost('[2001:DB8:0:0:0:0:0:1]')).toBe('2001:db8::1');
    expect(normalizeHost('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeHost('Seed.Example.ORG')).toBe('seed.example.org');
    expect(normalizeHost('bad host')).toBeUndefined();
    expect(normalizeHost('')).toBeUndefined();
    expect(normalizePeer({ host: '1.2.3.4', port: 0 })).toBeUndefined();
    expect(normalizePeer({ host: '1.2.3.4', port: 70000 })).toBeUndefined();
    expect(normalizePeer({ host: 42, port: 1 })).toBeUndefined();
    expect(peerKey({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(peerKey({ host: '1.2.3.4', port: 5 })).toBe('1.2.3.4:5');
  });
});

describe('timing policy', () => {
  it('clamps tracker intervals', () => {
    expect(announceDelayMs(0)).toBe(60_000);
    expect(announceDelayMs(1800)).toBe(1_800_000);
    expect(announceDelayMs(86_400)).toBe(3_600_000);
    expect(announceDelayMs(Number.NaN)).toBe(3_600_000);
    expect(earlyAnnounceSpacingMs(undefined, 300_000)).toBe(300_000);
    expect(earlyAnnounceSpacingMs(900, 300_000)).toBe(900_000);
    expect(earlyAnnounceSpacingMs(10 ** 9, 0)).toBe(3_600_000);
  });
  it('backs off exponentially with bounded jitter and a cap', () => {
    const p = { baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, p, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayMs(50, p, () => 0.999)).toBe(60_000);
    expect(backoffDelayMs(1, p, () => 0)).toBe(800);
    expect(backoffDelayMs(1, p, () => 0.999)).toBeLessThanOrEqual(1200);
  });
  it('shuffles, promotes and cleans tiers', () => {
    expect(shuffle([1, 2, 3], () => 0)).toEqual([2, 3, 1]);
    expect(shuffle([1, 2, 3], () => 0.99)).toEqual([1, 2, 3]);
    expect(promote(['a', 'b', 'c'], 'c')).toEqual(['c', 'a', 'b']);
    expect(promote(['a', 'b'], 'z')).toEqual(['a', 'b']);
    expect(normalizeTiers([[' udp://x:1 ', 'udp://x:1'], ['magnet:?xt'], ['http://y/a']])).toEqual([
      ['udp://x:1'],
      ['http://y/a'],
    ]);
  });
});

describe('ut_pex payloads', () => {
  it('parses added (with flags), added6 and dropped', () => {
    const payload = benc({
      added: Buffer.from(
        encodeCompactV4([
          { host: '10.0.0.1', port: 1 },
          { host: '10.0.0.2', port: 2 },
        ]),
      ),
      'added.f': Buffer.from([0x02, 0x10]),
      added6: Buffer.from(encodeCompactV6([{ host: '2001:db8::2', port: 3 }])),
      dropped: Buffer.from(encodeCompactV4([{ host: '10.0.0.3', port: 4 }])),
    });
    expect(parsePex(payload)).toEqual({
      ok: true,
      added: [
        { host: '10.0.0.1', port: 1, flags: 2 },
        { host: '10.0.0.2', port: 2, flags: 16 },
        { host: '2001:db8::2', port: 3, flags: 0 },
      ],
      dropped: [{ host: '10.0.0.3', port: 4 }],
    });
  });
  it('keeps flags aligned when an entry is skipped, and caps the count', () => {
    const payload = benc({
      added: Buffer.from([10, 0, 0, 1, 0, 0, 10, 0, 0, 2, 0, 2]), // first entry has port 0
      'added.f': Buffer.from([0x01, 0x04]),
    });
    expect(parsePex(payload)).toMatchObject({ ok: true, added: [{ host: '10.0.0.2', port: 2, flags: 4 }] });
    const many = Array.from({ length: 500 }, (_, i) => ({ host: `10.1.${i >> 8}.${i & 255}`, port: 1000 }));
    const big = parsePex(benc({ added: Buffer.from(encodeCompactV4(many)) }));
    expect(big.ok && big.added.length).toBe(PEX_MAX_PEERS);
  });
  it('returns errors as values for hostile payloads', () => {
    expect(parsePex(Buffer.alloc(20_000))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/exceeds/),
    });
    expect(parsePex(Buffer.from('garbage'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/ut_pex/),
    });
    expect(parsePex(Buffer.from('le'))).toEqual({ ok: false, error: 'ut_pex payload is not a dictionary' });
    expect(parsePex(benc({ added: 5 }))).toEqual({ ok: true, added: [], dropped: [] });
  });
});

/** A source driven by the test. */
class ManualSource implements PeerSource {
  ctx: PeerSourceContext | undefined;
  more = 0;
  stopped = false;
  constructor(readonly name: string) {}
  start(ctx: PeerSourceContext) {
    this.ctx = ctx;
  }
  needMorePeers() {
    this.more++;
  }
  async stop() {
    this.stopped = true;
  }
  emit(peers: PeerAddress[]) {
    this.ctx!.onPeers(peers, this.name);
  }
}

describe('PeerSourceSet', () => {
  const setup = () => {
    let now = 1_000_000;
    const got: { peers: PeerAddress[]; source: string }[] = [];
    const log = captureLog();
    const ctx: PeerSourceContext = {
      infohash: 'a'.repeat(40),
      port: 6881,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
      onPeers: (peers, source) => got.push({ peers, source }),
      log: log.log,
    };
    const a = new ManualSource('a');
    const b = new ManualSource('b');
    const set = new PeerSourceSet([a, b], { redeliverAfterMs: 60_000, maxRemembered: 3, now: () => now });
    return { set, a, b, got, ctx, log, advance: (ms: number) => (now += ms) };
  };

  it('deduplicates across sources by normalised host:port, drops invalid ones, and redelivers after the window', () => {
    const { set, a, b, got, ctx, advance } = setup();
    set.start(ctx);
    a.emit([
      { host: '10.0.0.1', port: 1 },
      { host: '10.0.0.1', port: 1 },
      { host: '::ffff:10.0.0.2', port: 2 },
      { host: 'bad host', port: 3 },
    ]);
    b.emit([
      { host: '10.0.0.2', port: 2 },
      { host: '10.0.0.1', port: 9 },
    ]);
    b.emit([{ host: '10.0.0.1', port: 1 }]); // nothing new: not forwarded at all
    expect(got).toEqual([
      {
        peers: [
          { host: '10.0.0.1', port: 1 },
          { host: '10.0.0.2', port: 2 },
        ],
        source: 'a',
      },
      { peers: [{ host: '10.0.0.1', port: 9 }], source: 'b' },
    ]);
    expect(set.status()).toEqual([
      { name: 'a', peers: 2 },
      { name: 'b', peers: 1 },
    ]);
    advance(60_000);
    b.emit([{ host: '10.0.0.1', port: 1 }]);
    expect(got.at(-1)).toEqual({ peers: [{ host: '10.0.0.1', port: 1 }], source: 'b' });
  });

  it('bounds its memory and can forget a peer on request', () => {
    const { set, a, got, ctx } = setup();
    set.start(ctx);
    a.emit([1, 2, 3, 4].map((i) => ({ host: `10.0.0.${i}`, port: 1 })));
    a.emit([{ host: '10.0.0.1', port: 1 }]); // evicted (max 3 remembered), so new again
    expect(got).toHaveLength(2);
    a.emit([{ host: '10.0.0.4', port: 1 }]);
    expect(got).toHaveLength(2);
    set.forget({ host: '10.0.0.4', port: 1 });
    a.emit([{ host: '10.0.0.4', port: 1 }]);
    expect(got).toHaveLength(3);
  });

  it('forwards needMorePeers, starts late additions, stops all, and contains a throwing handler', async () => {
    const { set, a, b, ctx, log } = setup();
    set.needMorePeers(); // before start: ignored
    set.start({
      ...ctx,
      onPeers: () => {
        throw new Error('engine bug');
      },
    });
    set.needMorePeers();
    expect([a.more, b.more]).toEqual([1, 1]);
    const c = new ManualSource('c');
    set.add(c);
    expect(c.ctx).toBeDefined();
    expect(() => c.emit([{ host: '10.0.0.1', port: 1 }])).not.toThrow();
    expect(log.lines.some((l) => l.msg === 'onPeers handler failed: engine bug')).toBe(true);
    await set.stop();
    expect([a.stopped, b.stopped, c.stopped]).toEqual([true, true, true]);
    c.emit([{ host: '10.0.0.9', port: 1 }]); // after stop: dropped silently
  });

  it('staticSource hands its valid peers over after start', async () => {
    const { set, got, ctx } = setup();
    set.add(
      staticSource(
        [
          { host: '127.0.0.1', port: 51413 },
          { host: '127.0.0.1', port: 0 },
        ],
        'magnet x.pe',
      ),
    );
    set.start(ctx);
    expect(got).toEqual([]); // not re-entrant: delivered after start() returned
    await Promise.resolve();
    expect(got).toEqual([{ peers: [{ host: '127.0.0.1', port: 51413 }], source: 'magnet x.pe' }]);
  });
});

describe('error catalogue', () => {
  it('documents every code in docs/design/peer-sources.md', () => {
    const doc = readFileSync(new URL('../../../docs/design/peer-sources.md', import.meta.url), 'utf8');
    for (const code of Object.keys(SOURCE_ERROR_CODES)) expect(doc, code).toContain(`\`${code}\``);
  });
});

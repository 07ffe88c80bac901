import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { filterCompactNodes, filterCompactPeers, usableContact } from '../src/addresses.js';
import { Announcer } from '../src/announcer.js';
import { bdecode, bencode } from '../src/bencode.js';
import { generateKeypair, immutableTarget, signatureData, signMutable, verifyMutable } from '../src/bep44.js';
import { parseArgs } from '../src/bin/args.js';
import { resolveBootstrap } from '../src/bootstrap.js';
import { tableToSave } from '../src/daemon.js';
import { GuardedSocket } from '../src/guarded-socket.js';
import { PeerStore } from '../src/peer-store.js';

const peer = (i: number) => Buffer.from([10, 0, (i >> 8) & 255, i & 255, 0x1a, 0xe1]);

describe('PeerStore', () => {
  it('expires a peer ttl after its last announce, and a re-announce refreshes it', () => {
    let now = 0;
    const s = new PeerStore({ maxPeers: 100, ttlMs: 1_000, now: () => now });
    s.add('aa', peer(1));
    s.add('aa', peer(2));
    now = 600;
    s.add('aa', peer(1)); // refreshed
    now = 1_100;
    expect(s.get('aa').map((b) => b[3])).toEqual([1]);
    expect(s.size).toBe(1);
    now = 1_700;
    expect(s.get('aa')).toEqual([]);
    expect(s.size).toBe(0);
    expect(s.infohashes).toBe(0);
  });

  it('evicts the least recently announced peer when full', () => {
    let now = 0;
    const s = new PeerStore({ maxPeers: 3, ttlMs: 10_000, now: () => now++ });
    s.add('a', peer(1));
    s.add('b', peer(2));
    s.add('c', peer(3));
    s.add('a', peer(1)); // refresh: b is now the oldest
    s.add('d', peer(4));
    expect(s.size).toBe(3);
    expect(s.get('b')).toEqual([]);
    expect(s.get('a')).toHaveLength(1);
    expect(s.get('d')).toHaveLength(1);
  });

  it('caps peers per infohash and replies with a bounded random sample', () => {
    const s = new PeerStore({ maxPeers: 10_000, ttlMs: 10_000, maxPerInfohash: 500 });
    for (let i = 0; i < 600; i++) s.add('x', peer(i));
    expect(s.size).toBe(500);
    expect(s.get('x')).toHaveLength(50);
    expect(s.get('x', 100)).toHaveLength(100);
    expect(new Set(s.get('x', 500).map((b) => b.toString('hex'))).size).toBe(500);
  });
});

describe('Announcer', () => {
  afterEach(() => vi.useRealTimers());

  it('announces at once, re-announces every interval, retries sooner after a failure, stops on unregister', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    let fail = true;
    const a = new Announcer({
      intervalMs: 1_000,
      retryMs: 100,
      announce: async (ih, port) => {
        calls.push(`${ih}:${port}`);
        if (fail) throw new Error('no nodes');
      },
    });
    a.register('ab', 7);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100); // retry after the failure
    expect(calls).toHaveLength(2);
    fail = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(4);
    expect(a.list()[0]).toMatchObject({ infohash: 'ab', port: 7 });
    a.register('ab', 8); // a new port re-announces at once
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.at(-1)).toBe('ab:8');
    expect(a.unregister('ab')).toBe(true);
    expect(a.unregister('ab')).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(5);
    a.close();
  });
});

describe('resolveBootstrap', () => {
  it('uses every address a name resolves to, and reports names that do not resolve', async () => {
    const lookup = async (host: string) => {
      if (host === 'router.example') return ['192.0.2.1', '192.0.2.2', '2001:db8::1'];
      if (host === 'v6only.example') return ['2001:db8::2'];
      throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    };
    const r = await resolveBootstrap(
      [
        'router.example:6881',
        '192.0.2.9:25401',
        'nowhere.example:1',
        'v6only.example:6881',
        '192.0.2.1:6881',
      ],
      lookup,
    );
    expect(r.contacts).toEqual(
      expect.arrayContaining([
        { host: '192.0.2.1', port: 6881 },
        { host: '192.0.2.2', port: 6881 },
        { host: '192.0.2.9', port: 25401 },
      ]),
    );
    expect(r.contacts).toHaveLength(3);
    expect(r.failures.map((f) => f.entry).sort()).toEqual(['nowhere.example:1', 'v6only.example:6881']);
  });

  it('an empty list is a new network', async () => {
    expect(await resolveBootstrap([])).toEqual({ contacts: [], failures: [] });
  });
});

describe('parseArgs', () => {
  it.each([
    [[], { kind: 'run' }],
    [['--config', 'a.toml'], { kind: 'run', config: 'a.toml' }],
    [['--config=a.toml', '--log-level=debug'], { kind: 'run', config: 'a.toml', logLevel: 'debug' }],
    [['--log-level', 'warn'], { kind: 'run', logLevel: 'warn' }],
    [['-h'], { kind: 'help' }],
    [['--version'], { kind: 'version' }],
    [['--config'], { kind: 'error', message: '--config needs a value' }],
    [['--config', '--log-level'], { kind: 'error', message: '--config needs a value' }],
    [['--port', '1'], { kind: 'error', message: 'unknown option "--port"' }],
    [
      ['--log-level', 'loud'],
      {
        kind: 'error',
        message: '--log-level: expected one of trace, debug, info, warn, error, fatal, silent, found "loud"',
      },
    ],
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });
});

describe('BEP 44 helpers', () => {
  it('signs the BEP 44 buffer and verifies only the exact item', () => {
    // The signature buffer from BEP 44's own example (salt "foobar", seq 1, v "Hello World!").
    expect(signatureData(Buffer.from('Hello World!'), 1, Buffer.from('foobar')).toString()).toBe(
      '4:salt6:foobar3:seqi1e1:v12:Hello World!',
    );
    const kp = generateKeypair();
    const sig = signMutable(kp, Buffer.from('x'), 3);
    expect(verifyMutable(kp.publicKey, Buffer.from('x'), 3, sig)).toBe(true);
    expect(verifyMutable(kp.publicKey, Buffer.from('x'), 4, sig)).toBe(false);
    expect(verifyMutable(kp.publicKey, Buffer.from('y'), 3, sig)).toBe(false);
    expect(verifyMutable(Buffer.alloc(32), Buffer.from('x'), 3, sig)).toBe(false);
  });

  it('computes immutable targets as sha1 of the bencoded value (BEP 44 example)', () => {
    expect(immutableTarget(Buffer.from('Hello World!'))).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
  });
});

describe('tableToSave', () => {
  const n = (i: number) => ({ id: Buffer.alloc(20, i), host: `10.0.0.${i}`, port: 6881 });
  it('saves the live table when it is healthy', () => {
    const live = Array.from({ length: 10 }, (_, i) => n(i));
    expect(tableToSave(live, [n(50)])).toHaveLength(10);
  });
  it('keeps previously saved nodes when the live table is thin (offline for a while)', () => {
    const saved = tableToSave([n(1)], [n(1), n(2), n(3)]);
    expect(saved.map((x) => x.host)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(tableToSave([], [n(4)])).toHaveLength(1);
  });
});

describe('unusable contacts', () => {
  const node = (ip: number[], port: number) =>
    Buffer.concat([Buffer.alloc(20, 9), Buffer.from(ip), Buffer.from([port >> 8, port & 255])]);

  it.each([
    ['10.1.2.3', 6881, false, true],
    ['192.168.1.2', 6881, false, true],
    ['8.8.8.8', 6881, false, true],
    ['127.0.0.1', 6881, false, false],
    ['127.0.0.1', 6881, true, true],
    ['0.0.0.0', 6881, true, false],
    ['224.0.0.1', 6881, true, false],
    ['255.255.255.255', 6881, true, false],
    ['8.8.8.8', 0, true, false],
  ])('%s:%i (loopback allowed: %s) -> %s', (host, port, allowLoopback, ok) => {
    expect(usableContact(host, port, allowLoopback)).toBe(ok);
  });

  it('filters compact nodes and peers, returning the same buffer when nothing is removed', () => {
    const good = Buffer.concat([node([8, 8, 8, 8], 1), node([10, 0, 0, 1], 2)]);
    expect(filterCompactNodes(good, false)).toBe(good);
    const mixed = Buffer.concat([
      node([127, 0, 0, 1], 22),
      good,
      node([224, 0, 0, 1], 5),
      node([1, 1, 1, 1], 0),
    ]);
    expect(filterCompactNodes(mixed, false).equals(good)).toBe(true);
    const peers = [
      Buffer.from([1, 2, 3, 4, 0, 80]),
      Buffer.from([127, 0, 0, 1, 0, 22]),
      Buffer.from([1, 2, 3]),
    ];
    expect(filterCompactPeers(peers, false)).toEqual([peers[0]]);
  });

  it('the guarded socket strips them from solicited replies before k-rpc sees them', () => {
    const fakeUdp = Object.assign(new EventEmitter(), {
      send: (_b: Buffer, _o: number, _l: number, _p: number, _h: string, cb: () => void) => cb(),
      address: () => ({ address: '0.0.0.0', family: 'IPv4', port: 6881 }),
    });
    const sock = new GuardedSocket(fakeUdp as unknown as Socket, { allowLoopback: false });
    const seen: Buffer[] = [];
    sock.on('message', (b: Buffer) => seen.push(b));
    const q = bencode({
      t: Buffer.from('xy'),
      y: 'q',
      q: 'find_node',
      a: { id: Buffer.alloc(20), target: Buffer.alloc(20) },
    });
    sock.send(q, 0, q.length, 6881, '192.0.2.7');
    const reply = bencode({
      t: Buffer.from('xy'),
      y: 'r',
      r: {
        id: Buffer.alloc(20, 1),
        nodes: Buffer.concat([node([127, 0, 0, 1], 22), node([8, 8, 8, 8], 6881)]),
      },
    });
    const rinfo = { address: '192.0.2.7', port: 6881, family: 'IPv4', size: reply.length };
    fakeUdp.emit('message', reply, rinfo);
    expect(seen).toHaveLength(1);
    const r = (bdecode(seen[0]!) as { ok: true; value: { r: { nodes: Buffer } } }).value.r;
    expect(r.nodes.equals(node([8, 8, 8, 8], 6881))).toBe(true);
    expect(sock.traffic.filteredContacts).toBe(1);
    // The same reply again is no longer solicited: dropped.
    fakeUdp.emit('message', reply, rinfo);
    expect(seen).toHaveLength(1);
    expect(sock.traffic.dropped).toBe(1);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BDict, bdecode, bencode } from '../src/bencode.js';
import { checkMessage } from '../src/krpc-guard.js';
import { createDhtNode, type DhtNode } from '../src/node.js';
import { RawKrpc } from './krpc-peer.js';

const MAX_PEERS = 100;

describe('hostile input against a node', () => {
  let node: DhtNode;
  let raw: RawKrpc;

  beforeAll(async () => {
    node = await createDhtNode({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [],
      maxStoredPeers: MAX_PEERS,
      peerTtlMs: 60_000,
    });
    raw = await RawKrpc.open();
  });

  afterAll(async () => {
    raw.close();
    await node.destroy();
  });

  const pingOk = async () => {
    const r = await raw.query(node.port, 'ping', {}, 10_000);
    expect(r?.y?.toString()).toBe('r');
    expect(((r!.r as BDict).id as Buffer).equals(node.nodeId)).toBe(true);
  };

  // Sends in chunks of 50, each followed by a ping round trip: the node has then read the whole
  // chunk (loopback keeps order), so the kernel's receive buffer never overflows and every packet
  // of the test really reaches the node.
  const flush = async (packets: Buffer[]) => {
    for (let i = 0; i < packets.length; i += 50) {
      for (const p of packets.slice(i, i + 50)) await raw.sendRaw(p, node.port);
      await pingOk();
    }
  };

  it('drops random bytes, truncated and deeply nested bencode and huge packets, and keeps answering', async () => {
    const before = node.socket.traffic.dropped;
    const ping = bencode({ t: Buffer.from('aa'), y: 'q', q: 'ping', a: { id: raw.id } });
    const packets: Buffer[] = [];
    for (let i = 0; i < 500; i++) packets.push(randomBytes(1 + Math.floor(Math.random() * 1400)));
    for (let i = 1; i < ping.length; i++) packets.push(ping.subarray(0, i));
    packets.push(Buffer.from(`${'l'.repeat(1500)}${'e'.repeat(1500)}`));
    packets.push(Buffer.from(`d1:t2:aa1:y1:q1:q4:ping1:a${'d1:a'.repeat(300)}i1e${'e'.repeat(300)}e`));
    packets.push(Buffer.from(`${'l'.repeat(30_000)}${'e'.repeat(30_000)}`));
    packets.push(
      Buffer.concat([
        Buffer.from('d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:'),
        raw.id,
        Buffer.from('1:x60000:'),
        Buffer.alloc(60_000),
        Buffer.from('ee'),
      ]),
    );
    packets.push(Buffer.from('99999999999:x'), Buffer.from('i-0e'), Buffer.from('i99999999999999999999999e'));
    await flush(packets);
    // Every one of them was dropped and counted (none was a valid message).
    expect(node.socket.traffic.dropped - before).toBe(packets.length);
  });

  it('drops messages with wrong field types, answering queries with error 203', async () => {
    const t = Buffer.from('tt');
    const id = raw.id;
    const cases: Array<[string, Record<string, unknown>]> = [
      [
        'token is an integer',
        { t, y: 'q', q: 'announce_peer', a: { id, info_hash: randomBytes(20), port: 1, token: 5 } },
      ],
      ['id is an integer', { t, y: 'q', q: 'ping', a: { id: 12 } }],
      ['a is a list', { t, y: 'q', q: 'find_node', a: [1, 2] }],
      ['info_hash is 19 bytes', { t, y: 'q', q: 'get_peers', a: { id, info_hash: randomBytes(19) } }],
      [
        'port is a string',
        {
          t,
          y: 'q',
          q: 'announce_peer',
          a: { id, info_hash: randomBytes(20), port: '80', token: Buffer.alloc(20) },
        },
      ],
      ['target missing', { t, y: 'q', q: 'find_node', a: { id } }],
      [
        'put k is 31 bytes',
        {
          t,
          y: 'q',
          q: 'put',
          a: {
            id,
            token: Buffer.alloc(4),
            v: Buffer.from('x'),
            k: Buffer.alloc(31),
            sig: Buffer.alloc(64),
            seq: 1,
          },
        },
      ],
    ];
    for (const [name, msg] of cases) {
      const r = await raw.request(bencode(msg), t, node.port);
      expect(r?.y?.toString(), name).toBe('e');
      expect((r!.e as [number, Buffer])[0], name).toBe(203);
    }
    const silent: Array<Record<string, unknown>> = [
      { t: { x: 1 }, y: 'q', q: 'ping', a: { id } },
      { t, y: ['q'], q: 'ping', a: { id } },
      { t, y: 'e', e: 'not a list' },
      // An unsolicited response: k-rpc would have added this "node" to the routing table.
      { t, y: 'r', r: { id: randomBytes(20) } },
      { t, y: 'r', r: { id: 42 } },
    ];
    await pingOk();
    const sizeBefore = node.dht.nodes.count();
    await flush(silent.map((m) => bencode(m)));
    expect(node.dht.nodes.count()).toBe(sizeBefore);
  });

  it('refuses announces with bad or missing tokens and stores nothing', async () => {
    const ih = randomBytes(20);
    const bad = await raw.query(node.port, 'announce_peer', {
      info_hash: ih,
      port: 6000,
      token: randomBytes(20),
    });
    expect(bad?.y?.toString()).toBe('e');
    expect((bad!.e as [number, Buffer])[0]).toBe(203);
    const missing = await raw.query(node.port, 'announce_peer', { info_hash: ih, port: 6000 });
    expect(missing?.y?.toString()).toBe('e');
    const gp = await raw.query(node.port, 'get_peers', { info_hash: ih });
    expect((gp!.r as BDict).values).toBeUndefined();
    expect(node.peers.get(ih.toString('hex'))).toHaveLength(0);
  });

  it('stores a valid announce, honouring implied_port', async () => {
    const ih = randomBytes(20);
    const gp = await raw.query(node.port, 'get_peers', { info_hash: ih });
    const token = (gp!.r as BDict).token as Buffer;
    const ok = await raw.query(node.port, 'announce_peer', {
      info_hash: ih,
      port: 9,
      implied_port: 1,
      token,
    });
    expect(ok?.y?.toString()).toBe('r');
    const gp2 = await raw.query(node.port, 'get_peers', { info_hash: ih });
    const values = (gp2!.r as BDict).values as Buffer[];
    expect(values).toHaveLength(1);
    // implied_port: the UDP source port, not the 9 in the message.
    expect(values[0]!.readUInt16BE(4)).toBe(raw.port);
    expect([...values[0]!.subarray(0, 4)].join('.')).toBe('127.0.0.1');
  });

  it('keeps stored peers bounded under a flood of 20,000 valid announces', async () => {
    const gp = await raw.query(node.port, 'get_peers', { info_hash: randomBytes(20) });
    const token = (gp!.r as BDict).token as Buffer;
    const heapBefore = process.memoryUsage().heapUsed;
    const packets: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      packets.push(
        bencode({
          t: Buffer.from([i >> 8, i & 255]),
          y: 'q',
          q: 'announce_peer',
          a: { id: raw.id, info_hash: randomBytes(20), port: 1 + (i % 60_000), token },
        }),
      );
    }
    const received = node.socket.traffic.packetsIn;
    await flush(packets);
    expect(node.socket.traffic.packetsIn - received).toBeGreaterThanOrEqual(packets.length);
    expect(node.peers.size).toBe(MAX_PEERS);
    expect(node.peers.infohashes).toBeLessThanOrEqual(MAX_PEERS);
    // Generous: 20,000 announces must not leave tens of megabytes behind.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    await pingOk();
  });
});

describe('krpc-guard and bdecode', () => {
  it('decode never throws on arbitrary input', () => {
    for (let i = 0; i < 5_000; i++) {
      const r = bdecode(randomBytes(Math.floor(Math.random() * 64)));
      expect(typeof r.ok).toBe('boolean');
    }
  });

  it('round-trips what it encodes', () => {
    const v = { a: [1, -2, Buffer.from('xy')], b: { c: Buffer.alloc(0) } };
    const d = bdecode(bencode(v));
    expect(d).toEqual({ ok: true, value: { a: [1, -2, Buffer.from('xy')], b: { c: Buffer.alloc(0) } } });
  });

  it('refuses depth, duplicate keys, leading zeros and trailing bytes', () => {
    expect(bdecode(Buffer.from(`${'l'.repeat(17)}${'e'.repeat(17)}`)).ok).toBe(false);
    expect(bdecode(Buffer.from('d1:ai1e1:ai2ee')).ok).toBe(false);
    expect(bdecode(Buffer.from('i01e')).ok).toBe(false);
    expect(bdecode(Buffer.from('01:a')).ok).toBe(false);
    expect(bdecode(Buffer.from('i1ei2e')).ok).toBe(false);
  });

  it('accepts the messages of BEP 5 and BEP 44', () => {
    const id = randomBytes(20);
    const t = Buffer.from('aa');
    const ok = [
      { t, y: 'q', q: 'ping', a: { id } },
      { t, y: 'q', q: 'find_node', a: { id, target: id } },
      { t, y: 'q', q: 'get_peers', a: { id, info_hash: id } },
      { t, y: 'q', q: 'announce_peer', a: { id, info_hash: id, port: 1, token: Buffer.alloc(8) } },
      { t, y: 'q', q: 'announce_peer', a: { id, info_hash: id, implied_port: 1, token: Buffer.alloc(8) } },
      { t, y: 'q', q: 'get', a: { id, target: id } },
      { t, y: 'q', q: 'put', a: { id, token: Buffer.alloc(4), v: Buffer.from('x') } },
      { t, y: 'q', q: 'vote', a: { id } },
      { t, y: 'r', r: { id, nodes: Buffer.alloc(26), token: Buffer.alloc(4), values: [Buffer.alloc(6)] } },
      { t, y: 'e', e: [201, 'Generic Error'] },
    ];
    for (const m of ok) {
      const d = bdecode(bencode(m));
      expect(d.ok && checkMessage(d.value).ok, JSON.stringify(m)).toBe(true);
    }
  });
});

// Tit-for-tat choking and the peer book's back-off, as pure functions.
import { describe, expect, it } from 'vitest';
import { type ChokeCandidate, chooseUnchoked } from '../src/choke/index.js';
import { MAX_FAILURES, PeerBook, RETRY_BASE_MS } from '../src/swarm/peer-book.js';

const NOW = 1_000_000;
function peer(id: string, down: number, up = 0, extra: Partial<ChokeCandidate> = {}): ChokeCandidate {
  return {
    id,
    interested: true,
    downloadRate: down,
    uploadRate: up,
    connectedAt: NOW - 120_000,
    seed: false,
    ...extra,
  };
}

describe('choker', () => {
  it('unchokes those who give us the most while downloading, plus one optimistic', () => {
    const peers = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, i * 1000, (11 - i) * 1000));
    const d = chooseUnchoked(peers, { seeding: false, now: NOW, rotate: true, slots: 4, random: () => 0 });
    expect(d.unchoke.size).toBe(4);
    for (const id of ['p11', 'p10', 'p9']) expect(d.unchoke.has(id)).toBe(true);
    expect(d.optimistic).toBeDefined();
    expect(['p11', 'p10', 'p9']).not.toContain(d.optimistic);
    expect(d.unchoke.has(d.optimistic as string)).toBe(true);
  });

  it('unchokes those we upload to fastest while seeding', () => {
    const peers = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, i * 1000, (11 - i) * 1000));
    const d = chooseUnchoked(peers, { seeding: true, now: NOW, rotate: true, slots: 4, random: () => 0.99 });
    for (const id of ['p0', 'p1', 'p2']) expect(d.unchoke.has(id)).toBe(true);
  });

  it('never unchokes the uninterested or seeds, and keeps the optimistic peer until rotation', () => {
    const peers = [
      peer('a', 5000),
      peer('b', 0, 0, { interested: false }),
      peer('c', 0, 0, { seed: true }),
      ...Array.from({ length: 10 }, (_, i) => peer(`n${i}`, 0, 0, { connectedAt: NOW - 1000 * i })),
    ];
    const first = chooseUnchoked(peers, {
      seeding: false,
      now: NOW,
      rotate: true,
      slots: 3,
      random: () => 0.5,
    });
    expect(first.unchoke.has('b')).toBe(false);
    expect(first.unchoke.has('c')).toBe(false);
    const again = chooseUnchoked(peers, {
      seeding: false,
      now: NOW,
      rotate: false,
      optimistic: first.optimistic,
      slots: 3,
      random: () => 0.1,
    });
    expect(again.optimistic).toBe(first.optimistic);
  });

  it('unchokes everyone interested when there are fewer than the slots', () => {
    const d = chooseUnchoked([peer('a', 0), peer('b', 0)], {
      seeding: false,
      now: NOW,
      rotate: false,
      random: () => 0,
    });
    expect([...d.unchoke].sort()).toEqual(['a', 'b']);
  });
});

describe('peer book', () => {
  it('backs off exponentially after failures and forgets an address after MAX_FAILURES', () => {
    const book = new PeerBook();
    const a = { host: '10.0.0.1', port: 6881 };
    expect(book.add([a, a], 'test', 0)).toBe(1);
    let t = 0;
    for (let i = 0; i < MAX_FAILURES; i++) {
      expect(book.take(10, t)).toEqual([a]);
      expect(book.take(10, t)).toEqual([]); // in use
      book.markClosed(a, t, false);
      expect(book.take(10, t + RETRY_BASE_MS * 2 ** i - 1)).toEqual([]);
      t += RETRY_BASE_MS * 2 ** i;
    }
    expect(book.size).toBe(0);
  });

  it('refuses banned addresses for good and invalid ones always', () => {
    const book = new PeerBook();
    const a = { host: '10.0.0.2', port: 1 };
    book.ban(a);
    expect(book.add([a, { host: '', port: 5 }, { host: 'x', port: 70000 }], 'test', 0)).toBe(0);
    expect(book.isBanned(a)).toBe(true);
  });

  it('hands out all but the known seeds when asked (a complete torrent dials)', () => {
    const book = new PeerBook();
    const given = { host: '10.0.0.3', port: 6881 };
    const fromDht = { host: '10.0.0.4', port: 6881 };
    const seed = { host: '10.0.0.5', port: 6881 };
    book.add([given], 'given', 0);
    book.add([fromDht, seed], 'dht', 0);
    expect(book.take(1, 0)).toEqual([given]);
    expect(book.take(1, 0)).toEqual([fromDht]);
    book.markClosed(fromDht, 0, true);
    book.markSeed(seed);
    // A complete torrent's dial: the known seed is left out, however due it is.
    expect(book.take(10, RETRY_BASE_MS, { skipSeeds: true })).toEqual([fromDht]);
    expect(book.take(10, RETRY_BASE_MS)).toEqual([seed]);
  });
});

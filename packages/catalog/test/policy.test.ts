import { generateSigningKey, signDelete } from '@dream/catalog';
import { describe, expect, it } from 'vitest';
import { decideDelete, decidePut, SIGNATURE_WINDOW_MS } from '../src/http/policy.js';
import { RateLimiter } from '../src/http/rate-limit.js';
import { entry } from './helpers.js';

const alice = generateSigningKey();
const bob = generateSigningKey();
const T = Date.parse('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(T + ms);

describe('decidePut', () => {
  const v1 = entry(alice, 1, 'Sintel', {}, at(0));
  const v2 = entry(alice, 1, 'Sintel 2', { createdAt: v1.createdAt }, at(1000));
  const cases: Array<{ why: string; code: string | undefined; run: () => ReturnType<typeof decidePut> }> = [
    { why: 'a new entry', code: undefined, run: () => decidePut(v1, undefined, undefined, T) },
    { why: 'a newer version by the owner', code: undefined, run: () => decidePut(v2, v1, undefined, T) },
    { why: 'the same version again (replay)', code: 'replayed', run: () => decidePut(v1, v1, undefined, T) },
    {
      why: 'an older version after a newer one',
      code: 'replayed',
      run: () => decidePut(v1, v2, undefined, T),
    },
    {
      why: 'another key writing to the entry',
      code: 'not_owner',
      run: () => decidePut(entry(bob, 1, 'Mine now', {}, at(2000)), v1, undefined, T),
    },
    {
      why: 'signed long ago',
      code: 'stale_request',
      run: () => decidePut(entry(alice, 2, 'x', {}, at(-SIGNATURE_WINDOW_MS - 1)), undefined, undefined, T),
    },
    {
      why: 'signed in the future',
      code: 'stale_request',
      run: () => decidePut(entry(alice, 2, 'x', {}, at(SIGNATURE_WINDOW_MS + 1)), undefined, undefined, T),
    },
    {
      why: 'a version signed before the last deletion',
      code: 'replayed',
      run: () => decidePut(v1, undefined, { infohash: v1.infohash, deletedAt: at(500).toISOString() }, T),
    },
    {
      why: 'a version signed after the last deletion (re-publish)',
      code: undefined,
      run: () => decidePut(v2, undefined, { infohash: v1.infohash, deletedAt: at(500).toISOString() }, T),
    },
    {
      why: 'changing createdAt on update',
      code: 'invalid_time',
      run: () => decidePut(entry(alice, 1, 'Sintel', {}, at(3000)), v1, undefined, T),
    },
  ];
  for (const c of cases) {
    it(`${c.why}: ${c.code ?? 'accepted'}`, () => {
      expect(c.run()?.code).toBe(c.code);
    });
  }
});

describe('decideDelete', () => {
  const v1 = entry(alice, 1, 'Sintel', {}, at(0));
  it('the owner, after the version: accepted', () => {
    expect(decideDelete(signDelete(alice, v1.infohash, at(10)), v1, T)).toBeUndefined();
  });
  it('another key: not_owner', () => {
    expect(decideDelete(signDelete(bob, v1.infohash, at(10)), v1, T)?.code).toBe('not_owner');
  });
  it('signed before the stored version: replayed', () => {
    expect(decideDelete(signDelete(alice, v1.infohash, at(-10)), v1, T)?.code).toBe('replayed');
  });
  it('nothing to delete: not_found', () => {
    expect(decideDelete(signDelete(alice, v1.infohash, at(10)), undefined, T)?.code).toBe('not_found');
  });
  it('outside the window: stale_request', () => {
    expect(decideDelete(signDelete(alice, v1.infohash, at(-2 * SIGNATURE_WINDOW_MS)), v1, T)?.code).toBe(
      'stale_request',
    );
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refuses with a wait, then refills', () => {
    const rl = new RateLimiter({ burst: 3, perSecond: 1 });
    expect([rl.take('a', 0), rl.take('a', 0), rl.take('a', 0)]).toEqual([0, 0, 0]);
    expect(rl.take('a', 0)).toBe(1);
    expect(rl.take('b', 0)).toBe(0); // per client
    expect(rl.take('a', 1000)).toBe(0);
  });
  it('keeps at most maxClients buckets', () => {
    const rl = new RateLimiter({ burst: 1, perSecond: 0.001, maxClients: 2 });
    rl.take('a', 0);
    rl.take('b', 0);
    rl.take('c', 0); // forgets a
    expect(rl.take('a', 0)).toBe(0);
    expect(rl.take('c', 0)).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { Bitfield } from '../src/bitfield.js';

describe('Bitfield', () => {
  it('uses BitTorrent bit order: bit 0 is the high bit of byte 0', () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    expect([...b.toBytes()]).toEqual([0x80, 0x40]);
    expect(b.get(0)).toBe(true);
    expect(b.get(1)).toBe(false);
    expect(b.get(9)).toBe(true);
    expect(b.count()).toBe(2);
    b.set(0, false);
    expect(b.get(0)).toBe(false);
    expect(b.count()).toBe(1);
  });

  it('counts completeness and round-trips bytes', () => {
    const b = Bitfield.full(13);
    expect(b.isComplete()).toBe(true);
    expect([...b.toBytes()]).toEqual([0xff, 0xf8]);
    const c = Bitfield.fromBytes(13, b.toBytes());
    expect(c.count()).toBe(13);
    expect([...c.indices()].length).toBe(13);
    expect(new Bitfield(0).isComplete()).toBe(true);
  });

  it('refuses a wrong size or spare bits set', () => {
    expect(() => Bitfield.fromBytes(10, new Uint8Array(1))).toThrow(/needs 2 bytes/);
    expect(() => Bitfield.fromBytes(10, Uint8Array.from([0, 0x01]))).toThrow(/spare bits/);
    // The constructor is lenient (clears them) for internal use.
    expect(new Bitfield(10, Uint8Array.from([0, 0xff])).count()).toBe(2);
  });

  it('out-of-range reads are false and writes throw', () => {
    const b = new Bitfield(4);
    expect(b.get(4)).toBe(false);
    expect(b.get(-1)).toBe(false);
    expect(() => b.set(4)).toThrow(RangeError);
  });

  it('toBytes returns a copy', () => {
    const b = new Bitfield(8);
    const bytes = b.toBytes();
    bytes[0] = 0xff;
    expect(b.count()).toBe(0);
  });
});

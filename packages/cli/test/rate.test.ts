// Rates as people type them: the units dream-cli limits accepts, and what it refuses with a fix.
import { describe, expect, it } from 'vitest';
import { formatRate, parseRate } from '../src/rate.js';

describe('parseRate', () => {
  it.each([
    ['0', 0],
    ['none', 0],
    ['Unlimited', 0],
    ['1500', 1500],
    ['1500B', 1500],
    ['500k', 500 * 1024],
    ['500K', 500 * 1024],
    ['500KiB', 500 * 1024],
    ['500kB', 500_000],
    ['500KB', 500_000],
    ['4M', 4 * 1024 * 1024],
    ['4MiB/s', 4 * 1024 * 1024],
    ['2.5MB/s', 2_500_000],
    ['2.5 MB', 2_500_000],
    ['1G', 1024 ** 3],
    ['1GB', 1e9],
    ['3MBps', 3_000_000],
  ])('%s = %d bytes/s', (text, bytes) => {
    expect(parseRate(text)).toBe(bytes);
  });

  it.each([
    ['fast', /"fast" is not a rate: .*e\.g\. 500k, 4MiB/],
    ['-1M', /not a rate/],
    ['4 parsecs', /not a rate/],
    ['8Mb', /lower-case b means bits.*write MB \(powers of 1000\) or MiB/],
    ['100kbps', /bits/],
    ['2000GB', /more than the engine accepts/],
    ['0.1', /less than one byte per second/],
  ])('refuses %s, saying what to write', (text, message) => {
    expect(() => parseRate(text)).toThrow(message);
  });
});

describe('formatRate', () => {
  it('prints binary units and "unlimited" for 0', () => {
    expect(formatRate(0)).toBe('unlimited');
    expect(formatRate(512)).toBe('512 B/s');
    expect(formatRate(4 * 1024 * 1024)).toBe('4.0 MiB/s');
    expect(
      formatRate(
        parseRate(
          formatRate(1536 * 1024)
            .replace(' ', '')
            .replace('/s', ''),
        ),
      ),
    ).toBe('1.5 MiB/s');
  });
});

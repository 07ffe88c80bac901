/**
 * Durability of the embedded store: every write acknowledged before a SIGKILL is there after a
 * restart, and a torn record at the end of the log is detected (CRC) and dropped, not fatal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, openEmbeddedStore } from '@dream/catalog';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../src/crc32.js';
import { frame, LOG_MAGIC, parseLog } from '../src/embedded/append-log.js';
import { entry, hashOf, tempDir } from './helpers.js';

const WRITER = new URL('./fixtures/kill-writer.mjs', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs the writer until it has acknowledged at least `acks` writes, then SIGKILLs it. */
function writeThenKill(
  stateDir: string,
  start: number,
  acks: number,
): Promise<{ acked: string[]; compactions: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, stateDir, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const acked: string[] = [];
    let compactions = 0;
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (/^[0-9a-f]{40}$/.test(l)) acked.push(l);
        else if (l === 'compacted') compactions++;
      }
      if (!killed && acked.length >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      // Lines printed before the kill are acknowledged writes; a partial last line is not.
      if (signal === 'SIGKILL') resolve({ acked, compactions });
      else reject(new Error(`writer exited with ${code} before being killed: ${stderr}`));
    });
  });
}

describe('kill -9 during a run of writes', () => {
  it('every acknowledged write is there after restart, over three crashes', async () => {
    const stateDir = tempDir('kill');
    const all: string[] = [];
    let compactions = 0;
    for (let round = 0; round < 3; round++) {
      const run = await writeThenKill(stateDir, 1 + round * 1_000_000, 300 + round * 100);
      const acked = run.acked;
      compactions += run.compactions;
      expect(acked.length).toBeGreaterThanOrEqual(300);
      all.push(...acked);
      // The stale lock of the killed writer is taken over; the log is replayed.
      const store = await openEmbeddedStore({ stateDir });
      try {
        const missing = [];
        for (const h of all) if (!(await store.get(h))) missing.push(h);
        expect(missing).toEqual([]);
        const n = Number.parseInt(acked[0]!, 16);
        expect((await store.search(`durable title ${n}`)).results[0]?.entry.infohash).toBe(acked[0]);
      } finally {
        await store.close();
      }
    }
    expect(compactions).toBeGreaterThan(0);
  });
});

describe('the log', () => {
  const key = generateSigningKey();

  it('a torn last record is dropped (and kept aside), earlier records load', async () => {
    const stateDir = tempDir('torn');
    const s = await openEmbeddedStore({ stateDir });
    await s.put(entry(key, 1, 'First'));
    await s.put(entry(key, 2, 'Second'));
    await s.close();
    const logPath = join(stateDir, 'catalog', 'catalog.log');
    // Half of a third record, as a crash in the middle of a write would leave.
    const third = frame({ op: 'put', e: entry(key, 3, 'Third') });
    appendFileSync(logPath, third.subarray(0, third.length / 2));
    const again = await openEmbeddedStore({ stateDir });
    try {
      expect((await again.get(hashOf(1)))?.title).toBe('First');
      expect((await again.get(hashOf(2)))?.title).toBe('Second');
      expect(await again.get(hashOf(3))).toBeUndefined();
      const dropped = readdirSync(join(stateDir, 'catalog')).filter((f) => f.includes('.dropped-'));
      expect(dropped).toHaveLength(1);
      // Writes after recovery land after the last good record and survive another reopen.
      await again.put(entry(key, 4, 'Fourth'));
    } finally {
      await again.close();
    }
    const third2 = await openEmbeddedStore({ stateDir });
    expect((await third2.get(hashOf(4)))?.title).toBe('Fourth');
    await third2.close();
  });

  it('parseLog stops at a bad checksum, a zero length or trailing zeros', () => {
    const a = frame({ op: 'del', h: hashOf(1) });
    const b = frame({ op: 'del', h: hashOf(2) });
    const good = Buffer.concat([LOG_MAGIC, a, b]);
    expect(parseLog(good).records).toHaveLength(2);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 2] = flipped[flipped.length - 2]! ^ 0xff;
    expect(parseLog(flipped)).toMatchObject({ validEnd: LOG_MAGIC.length + a.length });
    const zeros = Buffer.concat([LOG_MAGIC, a, Buffer.alloc(64)]);
    expect(parseLog(zeros)).toMatchObject({ validEnd: LOG_MAGIC.length + a.length });
    expect(() => parseLog(Buffer.from('not a log at all'))).toThrow(/bad magic/);
  });

  it('crc32 is the IEEE one', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
    const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    expect(crc32Table(big)).toBe(crc32(big));
  });

  it('compaction keeps exactly the live entries and tombstones', async () => {
    const stateDir = tempDir('compact');
    const s = await openEmbeddedStore({ stateDir, compactMinBytes: 1 });
    for (let i = 0; i < 50; i++)
      await s.put(entry(key, i % 10, `Version ${i}`, {}, new Date(Date.now() + i)));
    await s.delete(hashOf(9), new Date().toISOString());
    await s.compact();
    await s.close();
    const logPath = join(stateDir, 'catalog', 'catalog.log');
    expect(parseLog(readFileSync(logPath)).records).toHaveLength(10); // 9 entries + 1 tombstone
    const again = await openEmbeddedStore({ stateDir });
    expect((await again.get(hashOf(3)))?.title).toBe('Version 43');
    expect(await again.lastDeleted(hashOf(9))).toBeDefined();
    expect((await again.search('version')).total).toBe(9);
    await again.close();
    expect(existsSync(`${logPath}.compact`)).toBe(false);
  });

  it('a second opener of the same store is refused while the first holds it', async () => {
    const stateDir = tempDir('lock');
    const s = await openEmbeddedStore({ stateDir });
    await expect(openEmbeddedStore({ stateDir })).rejects.toThrow(/already open/);
    await s.close();
    const again = await openEmbeddedStore({ stateDir });
    await again.close();
  });
});

// Issue 7 in the suite: a small swarm of streaming viewers on loopback (test/swarm-harness.ts).
// One origin seeding in place with its upload capped, four viewers joining a second apart, each
// playing its stream over HTTP at twice a 1 MiB/s media rate through a simulated player.
import { describe, expect, it } from 'vitest';
import { MiB, runSwarm, type SwarmReport } from './swarm-harness.js';

function expectAllIdentical(r: SwarmReport): void {
  for (const v of r.viewers) {
    expect(v.error, `viewer ${v.index}`).toBeUndefined();
    expect(v.finished, `viewer ${v.index} played to the end`).toBe(true);
    expect(v.bytesRead, `viewer ${v.index}`).toBe(r.fileSize);
    expect(v.sha1, `viewer ${v.index} read the origin's bytes`).toBe(r.fileSha1);
  }
}

describe('a swarm of streaming viewers', () => {
  it('origin + 4 viewers: every viewer plays a byte-identical file and the origin sends less than the viewers received', async () => {
    const r = await runSwarm({
      viewers: 4,
      fileSize: 16 * MiB,
      originUploadLimit: 4 * MiB,
      joinGapSeconds: 1,
      timeoutMs: 150_000,
    });
    expectAllIdentical(r);
    const received = r.viewers.reduce((a, v) => a + v.fromOrigin + v.fromPeers, 0);
    // Every byte a viewer holds came over the wire, from the origin or a fellow viewer.
    expect(received).toBeGreaterThanOrEqual(4 * r.fileSize);
    // Peers traded: the origin sent fewer bytes than were delivered (4 copies would mean no trading).
    expect(r.originUploaded).toBeLessThan(received);
    expect(r.viewers.reduce((a, v) => a + v.fromPeers, 0)).toBeGreaterThan(0);
  }, 180_000);

  it('failover: the origin stops once the viewers together hold every piece; every viewer finishes with no stall over 2 s', async () => {
    const r = await runSwarm({
      viewers: 4,
      fileSize: 16 * MiB,
      originUploadLimit: 4 * MiB,
      joinGapSeconds: 1,
      stopOriginWhenCovered: true,
      timeoutMs: 150_000,
    });
    expect(r.originStoppedAtMs, 'the origin was stopped mid-run').toBeDefined();
    // At least one viewer was still playing when the origin went away.
    const lastJoin = Math.max(...r.viewers.map((v) => v.joinedAtMs));
    expect(r.originStoppedAtMs ?? Number.POSITIVE_INFINITY).toBeLessThan(lastJoin + 8_000);
    expectAllIdentical(r);
    for (const v of r.viewers)
      expect(v.longestStallMs, `viewer ${v.index}'s longest stall`).toBeLessThan(2_000);
  }, 180_000);
});

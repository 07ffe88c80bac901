/**
 * First piece from a distant peer: how long a stream waits for its first verified piece when the
 * only seeder is a round trip away. Loopback hides a slow start (a new peer's pipeline growing a
 * few requests per round trip); a proxy that delays every chunk by half the round trip shows it.
 * Dream's engine in-process against a libtorrent seeder capped at 4 MiB/s with a 50 ms tick (a
 * smooth link), 96 MiB file, 1 MiB pieces; the clock starts at the add, the figure is the first
 * byte of `Range: bytes=0-65535`. The floor is the handshake (one round trip), the request's way
 * there (half), the 1 MiB piece at 4 MiB/s (250 ms) and its way back (half): 250 ms + 2 RTT.
 * No competitor here: this is a diagnostic of Dream's own start, against that floor.
 *
 *   pnpm build && node --conditions=dream-source --import tsx bench/index.ts remote-peer
 *
 * Knobs: DREAM_BENCH_REMOTE_ROUNDS (default 5; the first round warms the seeder and is dropped).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startDelayRelay } from '../packages/torrent-engine/test/peers/delay-relay.js';
import {
  MiB,
  type Seed,
  seedRandomFile,
  startNode,
  streamUrl,
} from '../packages/torrent-engine/test/streaming-helpers.js';
import { formatMs, summarize } from './lib/stats.js';

const ROUNDS = Number(process.env.DREAM_BENCH_REMOTE_ROUNDS ?? 5);
const RTTS_MS = [0, 100, 200];
const RATE = 4 * MiB;

async function firstPieceMs(seed: Seed, peerPort: number): Promise<number> {
  const node = await startNode();
  try {
    const started = performance.now();
    await node.engine.add({ torrent: seed.torrent }, { peers: [{ host: '127.0.0.1', port: peerPort }] });
    return await new Promise<number>((resolve, reject) => {
      const req = http.get(
        streamUrl(node, seed.infoHash, 0),
        { headers: { range: 'bytes=0-65535' } },
        (res) => {
          res.once('data', () => resolve(performance.now() - started));
          res.resume();
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error('no first byte within 30 s')));
    });
  } finally {
    await node.stop();
  }
}

export async function run(): Promise<string> {
  const seed = await seedRandomFile('film.mp4', 96 * MiB, {
    pieceLength: MiB,
    uploadLimit: RATE,
    tickIntervalMs: 50,
  });
  const rows: string[] = [];
  try {
    const direct: number[] = [];
    for (const rtt of RTTS_MS) {
      const proxy = rtt > 0 ? await startDelayRelay(seed.peer.port, rtt / 2) : undefined;
      const samples: number[] = [];
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const ms = await firstPieceMs(seed, proxy?.port ?? seed.peer.port);
          if (round > 0 || ROUNDS === 1) samples.push(ms);
        }
      } finally {
        await proxy?.close();
      }
      if (rtt === 0) direct.push(...samples);
      const s = summarize(samples);
      const floor = 250 + 2 * rtt;
      rows.push(
        `| ${rtt} ms | ${formatMs(s)} | ${floor} ms | ${(s.median / floor).toFixed(2)}× | ${
          rtt === 0 ? '–' : `+${Math.round(s.median - summarize(direct).median)} ms`
        } |`,
      );
    }
  } finally {
    await seed.stop();
  }
  return [
    '## First piece from a distant peer (bench/remote-peer.ts)',
    '',
    'Command: `pnpm build && node --conditions=dream-source --import tsx bench/index.ts remote-peer`.',
    'Dream engine in-process, one libtorrent seeder capped at 4 MiB/s (50 ms tick), reached through a',
    'proxy holding each chunk for half the round trip; 96 MiB file, 1 MiB pieces. Time from the add to',
    `the first byte of \`bytes=0-65535\` (one verified piece), median (min–max) of ${Math.max(1, ROUNDS - 1)} rounds;`,
    'floor: 250 ms for the piece plus two round trips (handshake, request and answer).',
    '',
    '| round trip | first piece | floor | / floor | over direct |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await run()}\n`);

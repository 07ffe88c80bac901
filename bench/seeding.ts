/**
 * Seeding to several leechers at once, pieces large and small: three libtorrent leechers started
 * together download one file from a single seeder on loopback, our engine or libtorrent in turn.
 * Figures: the leechers' combined rate (file size × leechers / time until the last one finished),
 * and for our engine the bytes its process read per byte it sent (`rchar` of /proc/self/io: disk
 * reads plus the leechers' requests). libtorrent reads its files through mmap, which `rchar` does
 * not count, so it has no such figure. Why it is here: with 16 MiB pieces, cached whole in an 8 MiB
 * cache, the engine re-read a whole piece per 16 KiB block (51 bytes read per byte sent, 37 MiB/s);
 * the cache now holds 1 MiB spans (design/engine.md, "Serving").
 *
 *   node --conditions=dream-source --import tsx bench/index.ts seeding
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EngineFleet } from '../packages/torrent-engine/test/engine-fleet.js';
import { makeFiles, makeTorrent } from '../packages/torrent-engine/test/peers/fixtures.js';
import { startLibtorrent } from '../packages/torrent-engine/test/peers/libtorrent.js';
import { MiB, ratio } from './lib/stats.js';

const SIZE = Number(process.env.BENCH_SEEDING_MIB ?? 256) * MiB;
const LEECHERS = 3;
const PIECES = [1 * MiB, 16 * MiB];

const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

interface Row {
  seeder: string;
  piece: number;
  rate: number;
  readPerSent?: number;
}

/** Starts the leechers on `port`, resolves with seconds until every one has the whole file. */
async function leech(fleet: EngineFleet, torrent: Uint8Array, port: number, tag: string): Promise<number> {
  const started = performance.now();
  const starting = await Promise.allSettled(
    Array.from({ length: LEECHERS }, (_, i) =>
      startLibtorrent({ savePath: join(fleet.dir, `${tag}-leech-${i}`), torrent, peers: [port] }),
    ),
  );
  const leechers = starting.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const notStarted = starting.find((s) => s.status === 'rejected');
    if (notStarted) throw notStarted.reason;
    const finished = await Promise.all(leechers.map((lt) => lt.waitFinished(600_000)));
    const failed = finished.reduce((sum, f) => sum + f.failed_bytes, 0);
    if (failed > 0) throw new Error(`${tag}: ${failed} bytes failed their hash check at the leechers`);
    return (performance.now() - started) / 1000;
  } finally {
    for (const lt of leechers) await lt.stop();
  }
}

async function measure(piece: number): Promise<Row[]> {
  const fleet = new EngineFleet('dream-bench-seeding-');
  await fleet.setUp();
  try {
    const src = join(fleet.dir, 'src');
    await makeFiles(src, [{ path: 'film.mkv', size: SIZE }]);
    const made = await makeTorrent({
      source: join(src, 'film.mkv'),
      flavour: 'create-torrent',
      pieceLength: piece,
    });
    const rows: Row[] = [];

    const engine = await fleet.engine('dream', { trackers: false });
    await engine.add({ torrent: made.torrent, path: join(src, 'film.mkv') });
    while (engine.detail(made.infoHash).state !== 'seeding') await new Promise((r) => setTimeout(r, 50));
    const before = rchar();
    const sentBefore = engine.detail(made.infoHash).uploaded;
    const dreamSeconds = await leech(fleet, made.torrent, engine.port, `dream-${piece}`);
    const sent = engine.detail(made.infoHash).uploaded - sentBefore;
    rows.push({
      seeder: 'Dream engine',
      piece,
      rate: (SIZE * LEECHERS) / dreamSeconds,
      readPerSent: (rchar() - before) / sent,
    });
    await engine.remove(made.infoHash).catch(() => {});

    const lt = await startLibtorrent({ savePath: src, torrent: made.torrent, seedMode: true });
    try {
      const ltSeconds = await leech(fleet, made.torrent, lt.port, `lt-${piece}`);
      rows.push({ seeder: 'libtorrent (python3-libtorrent)', piece, rate: (SIZE * LEECHERS) / ltSeconds });
    } finally {
      await lt.stop();
    }
    return rows;
  } finally {
    await fleet.tearDown();
  }
}

export async function run(): Promise<string> {
  const rows: Row[] = [];
  for (const piece of PIECES) rows.push(...(await measure(piece)));
  const lines = [
    '## Seeding to three leechers at once, pieces of 1 and 16 MiB',
    '',
    `One ${SIZE / MiB} MiB file, three libtorrent leechers started together, each knowing only the`,
    'seeder (they also trade among themselves). Rate: file size × 3 / time until the last one has',
    "it. Read per byte sent: the seeder process's `rchar` over what it uploaded (Dream only:",
    'libtorrent reads through mmap, which `rchar` does not count). Goal: about one read per byte.',
    '',
    '| seeder | pieces | MiB/s (3 leechers) | vs libtorrent | read per byte sent |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const lt = rows.find((x) => x.piece === r.piece && x.seeder.startsWith('libtorrent'));
    lines.push(
      `| ${r.seeder} | ${r.piece / MiB} MiB | ${(r.rate / MiB).toFixed(1)} | ${ratio(r.rate, lt?.rate)} | ${r.readPerSent === undefined ? '–' : r.readPerSent.toFixed(2)} |`,
    );
  }
  lines.push('', 'Command: `node --conditions=dream-source --import tsx bench/index.ts seeding`.');
  return lines.join('\n');
}

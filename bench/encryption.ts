/**
 * Peer-wire encryption (MSE): what it costs. RC4 throughput (written in JavaScript: Node 20's
 * OpenSSL 3 has no rc4), and the time from an add to a connected peer through a 100 ms round trip,
 * by policy, against a libtorrent seeder that accepts plaintext or requires encryption.
 *
 *   pnpm build && node --conditions=dream-source --import tsx bench/index.ts encryption
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../packages/config/src/index.js';
import { Engine } from '../packages/torrent-engine/src/engine/engine.js';
import type { EncryptionPolicy } from '../packages/torrent-engine/src/wire/mse/handshake.js';
import { Rc4 } from '../packages/torrent-engine/src/wire/mse/rc4.js';
import { startDelayRelay } from '../packages/torrent-engine/test/peers/delay-relay.js';
import {
  makeFiles,
  makeTempDir,
  makeTorrent,
  removeDir,
} from '../packages/torrent-engine/test/peers/fixtures.js';
import { startLibtorrent } from '../packages/torrent-engine/test/peers/libtorrent.js';
import { formatMs, MiB, summarize } from './lib/stats.js';

const ROUNDS = 5;
const ONE_WAY_MS = 50;

/** MiB/s of RC4 over 100 MiB of 16 KiB blocks, in place (decrypting reads) and into a copy (writes). */
function rc4Throughput(): { inPlace: number; copying: number } {
  const block = Buffer.alloc(16 * 1024 + 13);
  const n = 6400;
  const rc4 = new Rc4(Buffer.from('bench'), 1024);
  for (let i = 0; i < 200; i++) rc4.updateInPlace(block); // warm up the JIT
  let t = performance.now();
  for (let i = 0; i < n; i++) rc4.updateInPlace(block);
  const inPlace = (n * block.length) / MiB / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < n; i++) rc4.update(block);
  const copying = (n * block.length) / MiB / ((performance.now() - t) / 1000);
  return { inPlace, copying };
}

export async function run(): Promise<string> {
  const { inPlace, copying } = rc4Throughput();
  const dir = await makeTempDir('dream-bench-mse-');
  const log = createLogger({ name: 'bench-encryption', level: 'silent' });
  const rows: string[] = [];
  try {
    await makeFiles(join(dir, 'src'), [{ path: 'clip/video.bin', size: 4 * MiB }]);
    const made = await makeTorrent({ source: join(dir, 'src', 'clip'), flavour: 'create-torrent' });
    const cases: [string, 'enabled' | 'forced', EncryptionPolicy][] = [
      ['accepts plaintext', 'enabled', 'enabled'],
      ['accepts plaintext', 'enabled', 'required'],
      ['requires encryption', 'forced', 'enabled'],
      ['requires encryption', 'forced', 'required'],
    ];
    for (const [seederLabel, seederPolicy, ours] of cases) {
      const seeder = await startLibtorrent({
        savePath: join(dir, 'src'),
        torrent: made.torrent,
        encryption: seederPolicy,
      });
      const relay = await startDelayRelay(seeder.port, ONE_WAY_MS);
      const times: number[] = [];
      let method = '';
      try {
        for (let i = 0; i < ROUNDS; i++) {
          const work = join(dir, `run-${ours}-${seederPolicy}-${i}`);
          const engine = await Engine.start({
            outputDir: join(work, 'out'),
            host: '127.0.0.1',
            port: 0,
            maxConnections: 10,
            log,
            trackers: false,
            encryption: ours,
          });
          try {
            const started = performance.now();
            await engine.add({ torrent: made.torrent }, { peers: [{ host: '127.0.0.1', port: relay.port }] });
            for (;;) {
              const peer = engine.detail(made.infoHash).peerList[0];
              if (peer) {
                method = peer.encryption;
                break;
              }
              if (performance.now() - started > 15_000) throw new Error('no connection within 15 s');
              await new Promise((r) => setTimeout(r, 2));
            }
            times.push(performance.now() - started);
          } finally {
            await engine.stop();
          }
        }
      } finally {
        await relay.close();
        await seeder.stop();
      }
      rows.push(`| ${seederLabel} | ${ours} | ${method} | ${formatMs(summarize(times))} |`);
    }
  } finally {
    await removeDir(dir);
  }
  return [
    '## Encryption (MSE): RC4 and connection set-up (bench/encryption.ts)',
    '',
    'Command: `pnpm build && node --conditions=dream-source --import tsx bench/index.ts encryption`.',
    '',
    `RC4 in JavaScript, 16 KiB blocks: ${inPlace.toFixed(0)} MiB/s in place (what a read is decrypted with), ` +
      `${copying.toFixed(0)} MiB/s into a copy (what a write is encrypted with: the block may be a cached piece).`,
    '',
    `Dream engine in-process, one libtorrent seeder behind a relay holding each chunk ${ONE_WAY_MS} ms each way (a`,
    `${2 * ONE_WAY_MS} ms round trip); time from the add to a connected peer (BitTorrent handshakes exchanged),`,
    `median (min–max) of ${ROUNDS} rounds, each a fresh engine. "payload" is how the connection travels.`,
    '',
    '| seeder | torrent.encryption | payload | add to connected |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await run()}\n`);

/**
 * Child process for the kill -9 test (run with tsx). Opens the store with whatever resume data was
 * saved, saves resume data as the store flushes, writes the pieces it lacks in a shuffled order
 * and prints "wrote <i>" after each write has returned 'ok'. The parent SIGKILLs it at random.
 * One open file at a time and a 20 ms flush interval: evictions (fsync on close) and flushes
 * overlap writes as often as possible.
 * argv: torrentPath root stateDir seed
 */
import { readFile } from 'node:fs/promises';
import { parseTorrent } from '../src/metainfo/index.js';
import { ResumeStore } from '../src/resume/index.js';
import { PieceStore } from '../src/storage/index.js';
import { content, piecesOf } from './storage-helpers.js';

const [torrentPath, root, stateDir, seedText, dataSeed] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const meta = parseTorrent(await readFile(torrentPath));
const resumeStore = new ResumeStore(stateDir);
const resume = await resumeStore.load(meta.infohash);
const store = await PieceStore.open(meta, {
  root,
  ...(resume ? { resume } : {}),
  flushIntervalMs: 20,
  maxOpenFiles: 1,
});
store.on('resume', (d) => {
  void resumeStore.save(d);
});
process.stdout.write(`ready ${store.have.count()}\n`);

const data = Buffer.concat(
  meta.files.map((f, i) =>
    f.pad ? Buffer.alloc(f.length) : content(f.length, Number(dataSeed) * 1000 + i + 1),
  ),
);
const pieces = piecesOf(data, meta.pieceLength);
let seed = Number(seedText) || 1;
const order = [...Array(meta.pieceCount).keys()].filter((i) => !store.have.get(i));
for (let i = order.length - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  const j = seed % (i + 1);
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}
// Two writes in flight at a time, as the engine would have.
let next = 0;
async function worker(): Promise<void> {
  while (next < order.length) {
    const i = order[next++] as number;
    const r = await store.writePiece(i, pieces[i] as Buffer);
    if (r !== 'ok') throw new Error(`piece ${i}: ${r}`);
    process.stdout.write(`wrote ${i}\n`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
await Promise.all([worker(), worker()]);
await store.close();
await resumeStore.save(store.resumeData());
process.stdout.write('done\n');

/**
 * Magnets whose metadata has not arrived yet have no .torrent for the ResumeStore, so they are
 * kept apart, as `<infohash>.magnet.json` beside the resume files (ResumeStore reads only
 * `<infohash>.json`): a restart before the metadata arrives resumes the search instead of
 * forgetting the torrent. Written atomically (temporary file, then rename); removed once the
 * metadata is known (the torrent then has ordinary resume data) or the torrent is removed.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PeerAddress } from '../bitfield.js';

export interface PendingMagnet {
  infohash: string;
  name?: string;
  trackers: string[];
  peers: PeerAddress[];
  paused: boolean;
  selected: number[] | 'all';
  addedAt: string;
}

const SUFFIX = '.magnet.json';
/** A record is small; anything bigger is not ours. */
const MAX_BYTES = 256 * 1024;

export class PendingMagnets {
  constructor(private readonly dir: string) {}

  private file(infohash: string): string {
    if (!/^[0-9a-f]{40}$/.test(infohash)) throw new Error(`bad infohash ${infohash}`);
    return path.join(this.dir, `${infohash}${SUFFIX}`);
  }

  async save(m: PendingMagnet): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(m.infohash);
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(m), { mode: 0o600 });
    await rename(tmp, target);
  }

  async remove(infohash: string): Promise<void> {
    await unlink(this.file(infohash)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Every valid record; unreadable or malformed files are skipped. */
  async list(): Promise<PendingMagnet[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: PendingMagnet[] = [];
    for (const n of names.sort()) {
      if (!/^[0-9a-f]{40}\.magnet\.json$/.test(n)) continue;
      try {
        const text = await readFile(path.join(this.dir, n), 'utf8');
        if (text.length > MAX_BYTES) continue;
        const m = JSON.parse(text) as PendingMagnet;
        if (isPending(m) && `${m.infohash}${SUFFIX}` === n) out.push(m);
      } catch {
        // a torn or foreign file: ignore it
      }
    }
    return out;
  }
}

function isPending(m: unknown): m is PendingMagnet {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return (
    typeof o.infohash === 'string' &&
    Array.isArray(o.trackers) &&
    o.trackers.every((t) => typeof t === 'string') &&
    Array.isArray(o.peers) &&
    o.peers.every(
      (p) => typeof p === 'object' && p !== null && typeof p.host === 'string' && Number.isInteger(p.port),
    ) &&
    typeof o.paused === 'boolean' &&
    (o.selected === 'all' || (Array.isArray(o.selected) && o.selected.every((i) => Number.isInteger(i)))) &&
    typeof o.addedAt === 'string' &&
    (o.name === undefined || typeof o.name === 'string')
  );
}

// The engines (and real peers) one test file starts: engines on loopback with their files under
// one temporary directory, and everything stopped, peers first, in afterAll.
import { join } from 'node:path';
import { createLogger } from '@dream/config';
import { Engine, type EngineOptions } from '../src/engine/engine.js';
import { makeTempDir, removeDir } from './peers/fixtures.js';

export class EngineFleet {
  private readonly engines: Engine[] = [];
  private readonly stops: (() => Promise<unknown>)[] = [];
  private root: string | undefined;

  constructor(private readonly prefix: string) {}

  /** The temporary directory (made by setUp). */
  get dir(): string {
    if (!this.root) throw new Error('EngineFleet: call setUp() in beforeAll first');
    return this.root;
  }

  async setUp(): Promise<void> {
    this.root = await makeTempDir(this.prefix);
  }

  /** An engine on 127.0.0.1 (a free port), its output and state in `<dir>/<name>-out|-state`. */
  async engine(name: string, opts: Partial<EngineOptions> = {}): Promise<Engine> {
    const e = await Engine.start({
      outputDir: join(this.dir, `${name}-out`),
      resumeDir: join(this.dir, `${name}-state`),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 50,
      log: createLogger({ name, level: 'silent' }),
      ...opts,
    });
    this.engines.push(e);
    return e;
  }

  /** Something else to stop at the end (a libtorrent peer, a tracker), before the engines. */
  onTearDown(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }

  async tearDown(): Promise<void> {
    for (const s of this.stops.reverse()) await s().catch(() => {});
    for (const e of this.engines) await e.stop();
    if (this.root) await removeDir(this.root);
  }
}

/** Resolves when `e` emits `name` for `infohash` (and stops listening). */
export function engineEvent(e: Engine, name: 'done' | 'metadata', infohash: string): Promise<void> {
  return new Promise((resolve) => {
    const l = (ih: string) => {
      if (ih !== infohash) return;
      e.off(name, l);
      resolve();
    };
    e.on(name, l);
  });
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type DreamConfig, type Logger, loadConfigText } from '@dream/config';

export const silentLog: Logger = createLogger({ name: 'test', level: 'silent' });

export function tempDir(prefix = 'dream-dht-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A loopback-only config: UDP and API on port 0, explicit bootstrap list (never the public DHT). */
export function testConfigText(opts: {
  stateDir: string;
  bootstrap: string[];
  maxStoredPeers?: number;
}): string {
  return [
    '[general]',
    `state_dir = ${JSON.stringify(opts.stateDir)}`,
    `output_dir = ${JSON.stringify(opts.stateDir)}`,
    'log_level = "warn"',
    '[network]',
    `bootstrap_nodes = ${JSON.stringify(opts.bootstrap)}`,
    'private = true',
    '[dht]',
    'host = "127.0.0.1"',
    'port = 0',
    'api_port = 0',
    `max_stored_peers = ${opts.maxStoredPeers ?? 100_000}`,
    '',
  ].join('\n');
}

export function testConfig(opts: {
  stateDir: string;
  bootstrap: string[];
  maxStoredPeers?: number;
}): DreamConfig {
  return loadConfigText(testConfigText(opts), join(opts.stateDir, 'config.toml'), {}).config;
}

export function randomInfohash(): string {
  return Buffer.from(Array.from({ length: 20 }, () => Math.floor(Math.random() * 256))).toString('hex');
}

/** Collects every peer a lookup streams. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Polls `fn` until it returns a truthy value (for state that has no event to await). */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

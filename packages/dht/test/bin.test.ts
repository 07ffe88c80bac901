import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhtClient } from '../src/index.js';
import { STATE_FILE } from '../src/state.js';
import { tempDir, testConfigText } from './helpers.js';

const BIN = join(import.meta.dirname, '../dist/bin/dream-dht.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, DREAM_CONFIG: '', XDG_CONFIG_HOME: '/nonexistent', ...env },
  });
}

describe('dream-dht bin', () => {
  const dir = tempDir();
  const children: ChildProcess[] = [];

  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npx tsc -b packages/dht)`);
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    dir.remove();
  });

  it('prints help and version', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: dream-dht/);
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^dream-dht \d+\.\d+\.\d+/);
  });

  it.each([
    [['--bogus'], /unknown option "--bogus"/],
    [['--config'], /--config needs a value/],
    [['extra'], /unexpected argument "extra"/],
    [['--log-level', 'loud'], /--log-level: expected one of/],
  ])('exits 2 on bad arguments %j', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['a wrong type', '[dht]\nport = "six"\n', /dht\.port/],
    ['a syntax error', '[dht\n', /not valid TOML/],
    ['an out-of-range port', '[dht]\napi_port = 70000\n', /dht\.api_port/],
  ])('exits 78 on a bad config: %s', (_name, text, message) => {
    const file = join(dir.path, 'bad.toml');
    writeFileSync(file, text);
    const r = run(['--config', file]);
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(message);
  });

  it('exits 78 when the config file given does not exist', () => {
    const r = run(['--config', join(dir.path, 'missing.toml')]);
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/does not exist/);
  });

  it('exits 78 with a clear message when the API port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      const port = (blocker.address() as { port: number }).port;
      const file = join(dir.path, 'taken.toml');
      writeFileSync(
        file,
        testConfigText({ stateDir: join(dir.path, 'taken'), bootstrap: [] }).replace(
          'api_port = 0',
          `api_port = ${port}`,
        ),
      );
      const r = run(['--config', file]);
      expect(r.status).toBe(78);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(dht\\.api_port\\)`));
    } finally {
      blocker.close();
    }
  });

  it('serves, then on SIGTERM saves its table and exits 0 within 2 s', async () => {
    const stateDir = join(dir.path, 'state');
    const file = join(dir.path, 'ok.toml');
    writeFileSync(
      file,
      testConfigText({ stateDir, bootstrap: [] }).replace('log_level = "warn"', 'log_level = "info"'),
    );
    const child = spawn(process.execPath, [BIN, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    const ready = await new Promise<{ apiPort: number; udpPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ready line within 30 s')), 30_000);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        try {
          const j = JSON.parse(line) as { apiPort?: number; udpPort?: number };
          if (j.apiPort && j.udpPort) {
            clearTimeout(timer);
            resolve({ apiPort: j.apiPort, udpPort: j.udpPort });
          }
        } catch {
          // not a JSON line
        }
      });
    });
    const client = new DhtClient({ apiUrl: `http://127.0.0.1:${ready.apiPort}` });
    const status = await client.status();
    expect(status.udpPort).toBe(ready.udpPort);

    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(2_000);
    const saved = JSON.parse(readFileSync(join(stateDir, STATE_FILE), 'utf8')) as {
      nodeId: string;
      savedAt: string;
    };
    expect(saved.nodeId).toBe(status.nodeId);
    // Saved on the way out, not only at start.
    expect(Date.parse(saved.savedAt)).toBeGreaterThanOrEqual(signalledAt - 1_000);
  });
});

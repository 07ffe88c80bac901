/**
 * Starting and stopping the daemons for people without systemd: `dream-cli daemon start|stop|status`.
 * Each daemon runs detached, logs to <state_dir>/logs/<name>.log, and records its PID in
 * <state_dir>/run/<name>.pid. Start waits until the daemon answers its health URL, and if it dies
 * first, shows the end of its log (a port in use, a bad config) instead of a vague failure.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DreamConfig } from '@dream/config';
import { CliError, EXIT } from './errors.js';
import { httpText } from './http.js';
import { findExecutable } from './player.js';

export type DaemonName = 'dream-dht' | 'dream-torrent';

export interface DaemonSpec {
  name: DaemonName;
  /** URL that answers 200 once the daemon is ready. */
  healthUrl: string;
}

export function daemonSpecs(config: DreamConfig): DaemonSpec[] {
  const specs: DaemonSpec[] = [];
  if (config.dht.enabled)
    specs.push({ name: 'dream-dht', healthUrl: `http://127.0.0.1:${config.dht.api_port}/v1/status` });
  specs.push({ name: 'dream-torrent', healthUrl: `${localApiBase(config)}/api/health` });
  return specs;
}

/** The control API / stream server as the CLI reaches it (a wildcard bind is reached on loopback). */
export function localApiBase(config: DreamConfig): string {
  const host = ['0.0.0.0', '::', ''].includes(config.stream.host) ? '127.0.0.1' : config.stream.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.stream.port}`;
}

/**
 * The daemon's entry point: the workspace's built bin next to this package, else one on PATH. `here`
 * is packages/cli/dist both for tsc's daemons.js and for the bundle, dist/dream-cli.mjs.
 */
export function daemonCommand(name: DaemonName): string[] {
  const pkg = name === 'dream-dht' ? 'dht' : 'torrent-engine';
  const here = dirname(fileURLToPath(import.meta.url));
  const workspaceBin = join(here, '..', '..', pkg, 'dist', 'bin', `${name}.js`);
  if (existsSync(workspaceBin)) return [process.execPath, workspaceBin];
  const onPath = findExecutable(name);
  if (onPath) return [onPath];
  throw new CliError(
    'DAEMON_NOT_INSTALLED',
    `${name} is not installed (not built in the workspace, not on PATH). Run \`pnpm build\`.`,
    EXIT.unexpected,
  );
}

const paths = (config: DreamConfig, name: DaemonName) => ({
  pid: join(config.general.state_dir, 'run', `${name}.pid`),
  log: join(config.general.state_dir, 'logs', `${name}.log`),
});

export function readPid(config: DreamConfig, name: DaemonName): number | undefined {
  try {
    const pid = Number(readFileSync(paths(config, name).pid, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function isHealthy(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await httpText(url, { timeoutMs });
    return res.status >= 200 && res.status <= 299;
  } catch {
    return false;
  }
}

export interface StartResult {
  name: DaemonName;
  pid: number;
  alreadyRunning: boolean;
  log: string;
}

export async function startDaemon(
  config: DreamConfig,
  spec: DaemonSpec,
  configPath: string | undefined,
  timeoutMs = 20_000,
): Promise<StartResult> {
  const p = paths(config, spec.name);
  const running = readPid(config, spec.name);
  if (running && (await isHealthy(spec.healthUrl))) {
    return { name: spec.name, pid: running, alreadyRunning: true, log: p.log };
  }
  if (!running && (await isHealthy(spec.healthUrl))) {
    // Something answers on our API port but it is not a daemon we started: another node's, or an
    // older one whose pid file is gone. Starting ours would fail to bind, or worse, look healthy.
    const port = Number(new URL(spec.healthUrl).port);
    throw CliError.portInUse(`${spec.name} API, answering at ${spec.healthUrl}`, port);
  }
  mkdirSync(dirname(p.pid), { recursive: true });
  mkdirSync(dirname(p.log), { recursive: true });
  const [cmd, ...args] = daemonCommand(spec.name);
  if (configPath) args.push('--config', configPath);
  const fd = openSync(p.log, 'a');
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', fd, fd], shell: false });
  closeSync(fd);
  const pid = child.pid!;
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  writeFileSync(p.pid, `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      rmSync(p.pid, { force: true });
      const tail = readFileSync(p.log, 'utf8').trim().split('\n').slice(-8).join('\n');
      if (/EADDRINUSE|address already in use/i.test(tail)) {
        const m = /EADDRINUSE[^\n]*?:(\d+)/.exec(tail);
        const fallback = spec.name === 'dream-dht' ? config.dht.port : config.torrent.port;
        throw CliError.portInUse(spec.name, m ? Number(m[1]) : fallback);
      }
      throw new CliError(
        'DAEMON_FAILED',
        `${spec.name} exited with status ${exited} while starting. The end of its log (${p.log}):\n${tail}`,
        exited === EXIT.config ? EXIT.config : EXIT.daemonDown,
      );
    }
    if (await isHealthy(spec.healthUrl, 500))
      return { name: spec.name, pid, alreadyRunning: false, log: p.log };
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new CliError(
    'DAEMON_FAILED',
    `${spec.name} (pid ${pid}) did not answer ${spec.healthUrl} within ${timeoutMs / 1000} s. See ${p.log}.`,
    EXIT.daemonDown,
  );
}

export async function stopDaemon(
  config: DreamConfig,
  name: DaemonName,
  timeoutMs = 10_000,
): Promise<boolean> {
  const pid = readPid(config, name);
  const pidFile = paths(config, name).pid;
  if (!pid) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(pidFile, { force: true });
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
  return true;
}

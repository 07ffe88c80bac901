// Child processes of the harness: spawned, watched line by line, and always killed by PID.
//
// Every child is remembered until it exits; if the test process itself exits (a crashed test, a
// timeout that skipped afterAll), the remaining children are SIGKILLed by PID so no peer outlives
// the run. And in case the test process is itself SIGKILLed (no exit hook runs), each child is
// started through a one-line exec wrapper that sets PR_SET_PDEATHSIG: the kernel kills it when
// its parent dies. The wrapper execs, so the PID we hold is the program's own.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

export interface ChildOptions {
  /** Shown in error messages ("libtorrent seeder", "aria2"...). */
  label: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each stdout line. */
  onLine?: (line: string) => void;
}

/** Linux prctl option: signal to receive when the parent dies. */
const PR_SET_PDEATHSIG = 1;
const DEATH_WRAPPER = [
  'import ctypes, os, signal, sys',
  `ctypes.CDLL(None, use_errno=True).prctl(${PR_SET_PDEATHSIG}, signal.SIGKILL)`,
  // The parent may already be gone between fork and prctl: then do not start at all.
  'os.getppid() != int(sys.argv[1]) and sys.exit(1)',
  'os.execvp(sys.argv[2], sys.argv[2:])',
].join('\n');

/** A spawned process, its recent output, and a stop() that always ends it. */
export class Child extends EventEmitter {
  readonly process: ChildProcess;
  readonly label: string;
  /** Last lines of stdout+stderr, for error messages. */
  readonly tail: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(command: string, args: string[], options: ChildOptions) {
    super();
    installExitHook();
    this.label = options.label;
    this.process = spawn('/usr/bin/python3', ['-c', DEATH_WRAPPER, String(process.pid), command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this.process);
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this.process);
        this.emit('exit', code, signal);
        resolve();
      });
      this.process.once('error', (err) => {
        this.remember(`spawn error: ${err.message}`);
        live.delete(this.process);
        this.emit('exit', null, null);
        resolve();
      });
    });
    // A child that exits while we write to its stdin must not crash the test with EPIPE.
    this.process.stdin?.on('error', () => {});
    const stdout = createInterface({ input: this.process.stdout! });
    stdout.on('line', (line) => {
      this.remember(line);
      options.onLine?.(line);
      this.emit('line', line);
    });
    const stderr = createInterface({ input: this.process.stderr! });
    stderr.on('line', (line) => this.remember(`[stderr] ${line}`));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null && live.has(this.process);
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
  }

  /** The recent output, for an error message. */
  describe(): string {
    return `${this.label} (pid ${this.pid}) output:\n  ${this.tail.join('\n  ')}`;
  }

  writeLine(line: string): void {
    if (this.running) this.process.stdin?.write(`${line}\n`);
  }

  /**
   * Ask politely (SIGTERM), then SIGKILL after `graceMs`. Resolves once the process has exited.
   * Safe to call twice and after the process died by itself.
   */
  async stop(graceMs = 3_000): Promise<void> {
    const pid = this.process.pid;
    if (pid === undefined || !live.has(this.process)) return this.exited;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Resolve when `child` emits a line for which `match` returns a value (not undefined); reject if
 * the child exits first or after `timeoutMs`. Lines already seen are not replayed: subscribe before
 * provoking the event, or keep your own log.
 */
export function waitForLine<T>(
  child: Child,
  match: (line: string) => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('line', onLine);
      child.off('exit', onExit);
    };
    const onLine = (line: string) => {
      const value = match(line);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${child.label} exited (code ${child.exitCode}) before ${what}\n${child.describe()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${child.label}: no ${what} within ${timeoutMs} ms\n${child.describe()}`));
    }, timeoutMs);
    child.on('line', onLine);
    child.on('exit', onExit);
    if (!child.running && child.exitCode !== null) onExit();
  });
}

/** A free TCP port on 127.0.0.1, for programs that cannot listen on port 0 and report it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolve once something accepts TCP connections on host:port (for programs that print nothing
 * when they start listening). Probes with a connect that is closed at once.
 */
export async function waitForListening(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

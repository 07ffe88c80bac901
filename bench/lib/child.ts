// Spawning a client under test: its own process, stdout drained (their progress UIs redraw every
// 500 ms), the last lines of stderr kept for error messages, and a stop() that kills the tree by PID.
import { spawn } from 'node:child_process';
import { killTree } from './proc.js';

export interface SpawnedClient {
  pid: number;
  exited: Promise<number | null>;
  describe(): string;
  stop(): Promise<void>;
}

export function spawnClient(
  label: string,
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnedClient {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${label}: could not spawn ${command}`);
  const pid = child.pid;
  const tail: string[] = [];
  const keep = (prefix: string) => (data: Buffer) => {
    for (const line of data.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(prefix + line.slice(0, 300));
      if (tail.length > 30) tail.shift();
    }
  };
  child.stdout.on('data', keep(''));
  child.stderr.on('data', keep('[stderr] '));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The benchmark process may die (a thrown error, ^C): never leave a client downloading behind us.
  const onExit = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.once('exit', onExit);
  // A client that exits by itself (dream-cli once its player quit) needs no kill at our exit.
  void exited.then(() => process.off('exit', onExit));
  return {
    pid,
    exited,
    describe: () => `${label} (pid ${pid}, ${command} ${args.join(' ')}):\n  ${tail.join('\n  ')}`,
    async stop() {
      await killTree(pid);
      await exited;
      process.off('exit', onExit);
    },
  };
}

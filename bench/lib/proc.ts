// CPU time and memory of a child process tree, read from /proc (Linux), and killing a tree by PID.
//
// A client like webtorrent-cli is one node process, but a wrapper script or a daemon may fork, so we
// account for the whole tree: every live descendant is found through the ppid field of /proc/<pid>/stat.
// CPU: utime + stime + cutime + cstime of each live process. cutime/cstime hold the time of children
// already reaped, which then no longer appear in the tree, so nothing is counted twice.
// Memory: VmHWM ("high water mark", the peak resident set) of each process, summed: exact for a
// single process, an upper bound for a tree whose members peaked at different times.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Clock ticks per second of the /proc times (sysconf(_SC_CLK_TCK), "USER_HZ"). It is 100 on every
 * Linux architecture Node runs on; Node has no sysconf binding to ask.
 */
const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** 'R', 'S', 'Z' (zombie: exited, not yet reaped)... */
  state: string;
  /** utime + stime + cutime + cstime, seconds. */
  cpuSeconds: number;
}

/** Parse /proc/<pid>/stat; undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid,
    ppid: field(4),
    state: rest[0] ?? '?',
    cpuSeconds: (field(14) + field(15) + field(16) + field(17)) / CLK_TCK,
  };
}

/** A `Vm*` line of /proc/<pid>/status in bytes (VmHWM, VmRSS), or undefined. */
export function readStatusBytes(pid: number, key: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** `root` and all its live descendants (root first). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    if (!readStat(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface TreeUsage {
  cpuSeconds: number;
  peakRssBytes: number;
}

/**
 * Samples a process tree every `intervalMs` and remembers, per PID, the last CPU time and peak RSS
 * seen, so processes that exit between samples still count (up to their last sample). Call `sample()`
 * once more right before stopping the tree for exact figures. CPU time counts from the monitor's
 * creation (what the tree had already used is subtracted: a daemon's start-up is not part of a
 * stream); peak RSS is the processes' lifetime peak.
 */
export class TreeMonitor {
  private readonly cpu = new Map<number, number>();
  private readonly baseline = new Map<number, number>();
  private readonly hwm = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
    for (const [pid, cpu] of this.cpu) this.baseline.set(pid, cpu);
  }

  sample(): void {
    for (const pid of processTree(this.root)) {
      const stat = readStat(pid);
      if (stat && stat.state !== 'Z') this.cpu.set(pid, stat.cpuSeconds);
      const hwm = readStatusBytes(pid, 'VmHWM');
      if (hwm !== undefined) this.hwm.set(pid, Math.max(hwm, this.hwm.get(pid) ?? 0));
    }
  }

  usage(): TreeUsage {
    let cpuSeconds = 0;
    for (const [pid, v] of this.cpu) cpuSeconds += v - (this.baseline.get(pid) ?? 0);
    let peakRssBytes = 0;
    for (const v of this.hwm.values()) peakRssBytes += v;
    return { cpuSeconds, peakRssBytes };
  }

  stop(): TreeUsage {
    this.sample();
    clearInterval(this.timer);
    return this.usage();
  }
}

function alive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stop `root` and every descendant, each by its PID: SIGTERM, then SIGKILL to whatever is still
 * alive after `graceMs`. The tree is listed before signalling, since children are re-parented (and so
 * lost from the tree) once their parent dies.
 */
export async function killTree(root: number, graceMs = 3_000): Promise<void> {
  const pids = processTree(root);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000; // a process stuck in the kernel (state D) dies when it returns
  while (pids.some(alive) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * The routing table on disk (state_dir/dht-state.json): our node id and the nodes we knew, so a
 * restart keeps its identity (other nodes' tables still point at us) and rejoins through known
 * nodes when the bootstrap nodes are gone. Written atomically (tmp, fsync, rename, fsync dir): a
 * crash mid-write leaves the previous file, never a torn one. A corrupt file is set aside, not
 * fatal: the node starts fresh and says so.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dirname, join } from 'node:path';

export const STATE_FILE = 'dht-state.json';
const VERSION = 1;
/** A mainline table holds at most a few hundred good nodes; more in a file means it is not ours. */
const MAX_SAVED_NODES = 2000;

export interface SavedNode {
  id: Buffer;
  host: string;
  port: number;
}

export interface DhtState {
  nodeId: Buffer;
  nodes: SavedNode[];
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'ok'; state: DhtState }
  | { kind: 'corrupt'; reason: string; movedTo: string | undefined };

export function loadState(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: (err as Error).message, movedTo: undefined };
  }
  const parsed = parseState(text);
  if (typeof parsed === 'string') {
    const movedTo = `${path}.corrupt-${Date.now()}`;
    try {
      renameSync(path, movedTo);
      return { kind: 'corrupt', reason: parsed, movedTo };
    } catch {
      return { kind: 'corrupt', reason: parsed, movedTo: undefined };
    }
  }
  return { kind: 'ok', state: parsed };
}

/** Returns the state or a reason it is not one. */
export function parseState(text: string): DhtState | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const d = doc as { version?: unknown; nodeId?: unknown; nodes?: unknown };
  if (d === null || typeof d !== 'object') return 'not an object';
  if (d.version !== VERSION) return `version ${String(d.version)}, expected ${VERSION}`;
  if (typeof d.nodeId !== 'string' || !/^[0-9a-f]{40}$/.test(d.nodeId)) return 'nodeId is not 40 hex digits';
  if (!Array.isArray(d.nodes)) return 'nodes is not a list';
  const nodes: SavedNode[] = [];
  for (const n of d.nodes.slice(0, MAX_SAVED_NODES) as Array<Record<string, unknown>>) {
    // Skip a bad entry rather than the whole file: the rest is still useful.
    if (typeof n?.id !== 'string' || !/^[0-9a-f]{40}$/.test(n.id)) continue;
    if (typeof n.host !== 'string' || !isIPv4(n.host)) continue;
    if (typeof n.port !== 'number' || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535) continue;
    nodes.push({ id: Buffer.from(n.id, 'hex'), host: n.host, port: n.port });
  }
  return { nodeId: Buffer.from(d.nodeId, 'hex'), nodes };
}

export function serializeState(state: DhtState): string {
  return `${JSON.stringify(
    {
      version: VERSION,
      savedAt: new Date().toISOString(),
      nodeId: state.nodeId.toString('hex'),
      nodes: state.nodes
        .slice(0, MAX_SAVED_NODES)
        .map((n) => ({ id: n.id.toString('hex'), host: n.host, port: n.port })),
    },
    null,
    1,
  )}\n`;
}

export function saveState(path: string, state: DhtState): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, serializeState(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // fsync the directory so the rename itself survives a power cut.
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the data file is already durable.
  }
}

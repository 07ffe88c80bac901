/**
 * dream-dht in-process: the DHT node, its saved state, the announcer and the local API wired
 * together. The bin is a thin shell around startDhtDaemon; other packages' tests call it directly.
 */
import { type DreamConfig, type Logger, PUBLIC_BOOTSTRAP_NODES } from '@dream/config';
import { Announcer } from './announcer.js';
import { type ApiHandle, buildApi, type DhtService } from './api.js';
import { mutableTarget, verifyMutable } from './bep44.js';
import { resolveBootstrap } from './bootstrap.js';
import { ApiError } from './errors.js';
import { createDhtNode, type DhtNode, lookupPeers } from './node.js';
import { loadState, type SavedNode, saveState, statePath } from './state.js';
import type { DhtStatus } from './types.js';

export interface DaemonOptions {
  /** Re-announce period for registered infohashes. Default 15 min (libtorrent's dht_announce_interval). */
  reannounceIntervalMs?: number;
  /** Retry period when an announce reached no node. Default 30 s. */
  announceRetryMs?: number;
  /** How long a stored peer lives after its last announce. Default 30 min (two announce intervals). */
  peerTtlMs?: number;
  /** Routing table save period. Default 5 min: a crash loses at most that much of the table. */
  saveIntervalMs?: number;
  /** Per-query UDP timeout. Default 2 s (k-rpc's). */
  queryTimeoutMs?: number;
}

export interface DhtDaemon {
  udpPort: number;
  apiPort: number;
  close(): Promise<void>;
}

const MIN = 60_000;
/** BEP 5: a node is good if it responded or queried us within the last 15 minutes. */
const GOOD_NODE_MS = 15 * MIN;

export async function startDhtDaemon(
  config: DreamConfig,
  log: Logger,
  options: DaemonOptions = {},
): Promise<DhtDaemon> {
  const started = Date.now();
  const file = statePath(config.general.state_dir);
  const loaded = loadState(file);
  if (loaded.kind === 'corrupt') {
    log.warn(
      { file, reason: loaded.reason, movedTo: loaded.movedTo },
      'saved DHT state unreadable; starting with a fresh table',
    );
  }
  const saved = loaded.kind === 'ok' ? loaded.state : undefined;

  if (config.network.private && sameList(config.network.bootstrap_nodes, PUBLIC_BOOTSTRAP_NODES)) {
    log.warn(
      "network.private is true but network.bootstrap_nodes is the public default list: this node will join the public DHT. Set bootstrap_nodes to your network's nodes (or [] to start one).",
    );
  }
  const { contacts, failures } = await resolveBootstrap(config.network.bootstrap_nodes);
  for (const f of failures) log.warn({ entry: f.entry, reason: f.reason }, 'bootstrap node not usable');
  if (!config.network.bootstrap_nodes.length && !saved?.nodes.length) {
    log.info('no bootstrap nodes and no saved table: starting a new DHT network as its first node');
  }

  const node = await createDhtNode({
    host: config.dht.host,
    port: config.dht.port,
    bootstrap: contacts,
    nodeId: saved?.nodeId,
    savedNodes: saved?.nodes,
    maxStoredPeers: config.dht.max_stored_peers,
    peerTtlMs: options.peerTtlMs ?? 30 * MIN,
    queryTimeoutMs: options.queryTimeoutMs,
  });
  node.bootstrapped.then(() =>
    log.info({ tableSize: node.dht.nodes.count() }, 'DHT bootstrap lookup finished'),
  );

  let lastSaved: SavedNode[] = saved?.nodes ?? [];
  const save = () => {
    try {
      const nodes = tableToSave(node.table() as SavedNode[], lastSaved);
      saveState(file, { nodeId: node.nodeId, nodes });
      lastSaved = nodes;
      log.debug({ file, nodes: node.dht.nodes.count() }, 'routing table saved');
    } catch (err) {
      log.error({ file, err: (err as Error).message }, 'cannot save the routing table');
    }
  };
  // Save at once, so the node id is on disk even if we are killed before the first period.
  save();
  const saveTimer = setInterval(save, options.saveIntervalMs ?? 5 * MIN);
  saveTimer.unref();

  const announcer = new Announcer({
    intervalMs: options.reannounceIntervalMs ?? 15 * MIN,
    retryMs: options.announceRetryMs ?? 30_000,
    announce: (ih, port) =>
      new Promise<void>((resolve, reject) =>
        node.dht.announce(Buffer.from(ih, 'hex'), port, (err) => (err ? reject(err) : resolve())),
      ),
    onError: (ih, err) =>
      log.debug({ infohash: ih, err: err.message }, 'announce reached no node; will retry'),
  });

  let closing = false;
  const api: ApiHandle = buildApi(dhtService(node, announcer, started), { isClosing: () => closing });
  try {
    await api.app.listen({ host: '127.0.0.1', port: config.dht.api_port });
  } catch (err) {
    clearInterval(saveTimer);
    announcer.close();
    await node.destroy();
    throw new Error(
      `cannot listen on 127.0.0.1:${config.dht.api_port} (dht.api_port): ${(err as Error).message}`,
    );
  }
  const apiPort = (api.app.server.address() as { port: number }).port;
  log.info(
    {
      udpPort: node.port,
      apiPort,
      nodeId: node.nodeId.toString('hex'),
      bootstrapNodes: contacts.length,
      restoredNodes: saved?.nodes.length ?? 0,
    },
    `dream-dht ready: UDP ${config.dht.host}:${node.port}, API http://127.0.0.1:${apiPort}`,
  );

  let closed: Promise<void> | undefined;
  return {
    udpPort: node.port,
    apiPort,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        clearInterval(saveTimer);
        announcer.close();
        api.endStreams();
        save();
        await api.app.close();
        await node.destroy();
        log.info('dream-dht stopped');
      })()),
  };
}

function dhtService(node: DhtNode, announcer: Announcer, started: number): DhtService {
  const { dht } = node;
  return {
    status(): DhtStatus {
      const now = Date.now();
      const table = node.table();
      return {
        nodeId: node.nodeId.toString('hex'),
        udpPort: node.port,
        tableSize: table.length,
        goodNodes: table.filter((n) => n.seen !== undefined && now - n.seen < GOOD_NODE_MS).length,
        storedPeers: node.peers.size,
        storedInfohashes: node.peers.infohashes,
        announced: announcer.size,
        traffic: {
          packetsIn: node.socket.traffic.packetsIn,
          packetsOut: node.socket.traffic.packetsOut,
          bytesIn: node.socket.traffic.bytesIn,
          bytesOut: node.socket.traffic.bytesOut,
          dropped: node.socket.traffic.dropped,
        },
        uptimeSeconds: Math.floor((now - started) / 1000),
        bootstrapped: node.isBootstrapped(),
      };
    },

    lookup: (infohash, onPeer, done) => lookupPeers(dht, infohash, onPeer, done),

    announce: (ih, port) => announcer.register(ih, port),
    unannounce: (ih) => announcer.unregister(ih),
    announces: () => announcer.list(),

    putImmutable: (v) =>
      new Promise((resolve, reject) => {
        dht.put({ v }, (err, key, n) => {
          // "No nodes to query": we are alone (the first node of a network). The item is stored
          // locally and served to nodes that join; report 0 nodes rather than fail.
          if (err && !/No nodes to query/.test(err.message)) return reject(putError(err));
          resolve({ target: key.toString('hex'), nodes: n ?? 0 });
        });
      }),

    getImmutable: (target) =>
      new Promise((resolve, reject) => {
        dht.get(target, {}, (err, res) => {
          if (err) return reject(err);
          resolve(res && Buffer.isBuffer(res.v) && !res.sig ? res.v : undefined);
        });
      }),

    putMutable: (item) => {
      if (!verifyMutable(item.publicKey, item.value, item.seq, item.signature, item.salt)) {
        return Promise.reject(
          new ApiError(
            'invalid_signature',
            'the signature does not verify for this key, seq, salt and value',
          ),
        );
      }
      return new Promise((resolve, reject) => {
        dht.put(
          {
            v: item.value,
            k: item.publicKey,
            seq: item.seq,
            sig: item.signature,
            salt: item.salt,
            cas: item.cas,
          },
          (err, key, n) => {
            if (err && !/No nodes to query/.test(err.message)) return reject(putError(err));
            resolve({ target: key.toString('hex'), nodes: n ?? 0 });
          },
        );
      });
    },

    getMutable: (publicKey, salt) =>
      new Promise((resolve, reject) => {
        const target = Buffer.from(mutableTarget(publicKey, salt), 'hex');
        dht.get(target, salt ? { salt } : {}, (err, res) => {
          if (err) return reject(err);
          if (!res || !Buffer.isBuffer(res.v) || !res.sig || !res.k?.equals(publicKey))
            return resolve(undefined);
          resolve({ value: res.v, seq: res.seq ?? 0, signature: res.sig });
        });
      }),
  };
}

function putError(err: Error & { code?: unknown }): ApiError {
  if (err.code === 301) return new ApiError('cas_mismatch', `BEP 44 put refused: ${err.message}`);
  if (err.code === 302) return new ApiError('seq_too_low', `BEP 44 put refused: ${err.message}`);
  return new ApiError('put_failed', `BEP 44 put reached no node: ${err.message}`);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Below this many live nodes the table is too thin to rejoin from alone (a laptop that was offline
 * has timed out most of its contacts), so the previously saved nodes are kept after the live ones:
 * some of them are probably still up, and a restart then still rejoins without bootstrap nodes.
 */
const THIN_TABLE = 8;
const KEEP_PREVIOUS = 200;

export function tableToSave(live: SavedNode[], previous: SavedNode[]): SavedNode[] {
  const out = live.map((n) => ({ id: n.id, host: n.host, port: n.port }));
  if (out.length >= THIN_TABLE) return out;
  const ids = new Set(out.map((n) => n.id.toString('hex')));
  for (const n of previous.slice(0, KEEP_PREVIOUS)) {
    if (!ids.has(n.id.toString('hex'))) out.push(n);
  }
  return out;
}

/**
 * The configuration schema: every section, every key, its type, its default and a one-line meaning.
 * It is data, not code, so the loader, `dream-cli config show` and the docs all read the same table.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export type KeyType =
  | { kind: 'string'; nonEmpty?: boolean }
  | { kind: 'path' }
  | { kind: 'bool' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'hostPortList' }
  | { kind: 'stringList' }
  | { kind: 'url'; allowEmpty: boolean };

export interface KeySpec {
  type: KeyType;
  /** The default, computed from the environment so XDG variables are honoured at load time. */
  default: (env: NodeJS.ProcessEnv) => unknown;
  doc: string;
}

const xdg = (env: NodeJS.ProcessEnv, name: string, fallback: string): string =>
  env[name] && env[name]!.startsWith('/') ? env[name]! : join(homedir(), fallback);

export const stateHome = (env: NodeJS.ProcessEnv): string => xdg(env, 'XDG_STATE_HOME', '.local/state');
export const dataHome = (env: NodeJS.ProcessEnv): string => xdg(env, 'XDG_DATA_HOME', '.local/share');
export const configHome = (env: NodeJS.ProcessEnv): string => xdg(env, 'XDG_CONFIG_HOME', '.config');

const portOrAny = { kind: 'int', min: 0, max: 65535 } as const;

/**
 * Public mainline DHT routers that answer today. The long-standing router.bittorrent.com and
 * router.utorrent.com no longer do, so they are not in the default list.
 */
export const PUBLIC_BOOTSTRAP_NODES = ['dht.libtorrent.org:25401', 'dht.transmissionbt.com:6881'] as const;

export const SCHEMA = {
  general: {
    output_dir: {
      type: { kind: 'path' },
      default: (env) => join(dataHome(env), 'dream', 'videos'),
      doc: 'Where downloaded videos are written. Uploaded files are seeded where they lie, never moved.',
    },
    state_dir: {
      type: { kind: 'path' },
      default: (env) => join(stateHome(env), 'dream'),
      doc: 'DHT routing table, torrent resume data, the embedded catalog and the signing key.',
    },
    player: {
      type: { kind: 'string', nonEmpty: true },
      default: () => 'mpv',
      doc: 'The video player dream-cli stream launches (mpv, vlc, or a path to one).',
    },
    player_cache_seconds: {
      type: { kind: 'int', min: 0, max: 3600 },
      default: () => 10,
      doc: 'Seconds of video mpv may buffer ahead of what it shows (its --cache-secs); stream.readahead_seconds more wait on disk. 0: mpv decides, and buffers up to 150 MiB even while paused.',
    },
    log_level: {
      type: { kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
      default: () => 'info',
      doc: 'Log level of the daemons; --log-level overrides it.',
    },
  },
  network: {
    bootstrap_nodes: {
      type: { kind: 'hostPortList' },
      default: () => [...PUBLIC_BOOTSTRAP_NODES],
      doc: 'host:port of DHT nodes to join through. An empty list starts a brand-new network.',
    },
    catalog_url: {
      type: { kind: 'url', allowEmpty: true },
      default: () => '',
      doc: "The network's catalog service. Empty means this node's own catalog.",
    },
    private: {
      type: { kind: 'bool' },
      default: () => false,
      doc: 'A private network: never fall back to the public DHT routers, bootstrap only from bootstrap_nodes.',
    },
  },
  dht: {
    enabled: {
      type: { kind: 'bool' },
      default: () => true,
      doc: 'Run the DHT (the trackerless peer source).',
    },
    host: {
      type: { kind: 'string', nonEmpty: true },
      default: () => '0.0.0.0',
      doc: 'Address the DHT UDP socket binds to.',
    },
    port: {
      type: portOrAny,
      default: () => 6881,
      doc: 'UDP port of the DHT; the same number as torrent.port so one forwarded port serves both. 0 picks a free one.',
    },
    api_port: {
      type: portOrAny,
      default: () => 6883,
      doc: 'TCP port of the local DHT API on 127.0.0.1, used by dream-torrent and dream-cli.',
    },
    max_stored_peers: {
      type: { kind: 'int', min: 100, max: 10_000_000 },
      default: () => 100_000,
      doc: 'Upper bound on peers stored for other nodes (memory stays bounded under announce floods).',
    },
  },
  torrent: {
    host: {
      type: { kind: 'string', nonEmpty: true },
      default: () => '0.0.0.0',
      doc: 'Address the BitTorrent TCP listener binds to.',
    },
    port: { type: portOrAny, default: () => 6881, doc: 'TCP port for BitTorrent peers. 0 picks a free one.' },
    max_connections: {
      type: { kind: 'int', min: 1, max: 10_000 },
      default: () => 200,
      doc: 'Peer connections across all torrents.',
    },
    upload_rate_limit: {
      type: { kind: 'int', min: 0, max: 1_000_000_000_000 },
      default: () => 0,
      doc: 'Upload cap in bytes per second across all torrents; 0 = unlimited. The control API can change it live.',
    },
    download_rate_limit: {
      type: { kind: 'int', min: 0, max: 1_000_000_000_000 },
      default: () => 0,
      doc: 'Download cap in bytes per second across all torrents; 0 = unlimited. The control API can change it live.',
    },
    encryption: {
      type: { kind: 'enum', values: ['enabled', 'required', 'disabled'] },
      default: () => 'enabled',
      doc: 'Peer-wire encryption (MSE). enabled: talk to peers that require it, plaintext otherwise. required: encrypted peers only. disabled: never.',
    },
  },
  stream: {
    host: {
      type: { kind: 'string', nonEmpty: true },
      default: () => '127.0.0.1',
      doc: 'Address of the HTTP server players read from (and the control API). Loopback by default.',
    },
    port: { type: portOrAny, default: () => 6882, doc: 'Port of the HTTP stream server and control API.' },
    readahead_seconds: {
      type: { kind: 'int', min: 1, max: 3600 },
      default: () => 30,
      doc: 'How many seconds of media ahead of the playhead are fetched urgently.',
    },
    cors_origins: {
      type: { kind: 'stringList' },
      default: () => [],
      doc: 'Other sites whose pages may play or read streams (never the control API). Empty: none.',
    },
  },
  catalog: {
    backend: {
      type: { kind: 'enum', values: ['embedded', 'elasticsearch'] },
      default: () => 'embedded',
      doc: 'embedded: a durable store in state_dir, no server. elasticsearch: for bootstrap operators.',
    },
    elasticsearch_url: {
      type: { kind: 'url', allowEmpty: false },
      default: () => 'http://127.0.0.1:9200',
      doc: 'Elasticsearch, when catalog.backend = "elasticsearch". Keep it private: clients use the catalog API.',
    },
    elasticsearch_index: {
      type: { kind: 'string', nonEmpty: true },
      default: () => 'dream-videos',
      doc: 'Elasticsearch index name.',
    },
  },
} as const satisfies Record<string, Record<string, KeySpec>>;

export type Schema = typeof SCHEMA;

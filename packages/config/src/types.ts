/** The validated configuration every Dream program receives. Every key is present (defaults filled). */
export interface DreamConfig {
  general: {
    output_dir: string;
    state_dir: string;
    player: string;
    /** mpv's --cache-secs for the player dream-cli stream launches; 0 = mpv's own default. */
    player_cache_seconds: number;
    log_level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  };
  network: {
    bootstrap_nodes: string[];
    catalog_url: string;
    private: boolean;
  };
  dht: {
    enabled: boolean;
    host: string;
    port: number;
    api_port: number;
    max_stored_peers: number;
  };
  torrent: {
    host: string;
    port: number;
    max_connections: number;
    /** Bytes/s across all torrents; 0 = unlimited. */
    upload_rate_limit: number;
    download_rate_limit: number;
    /** Peer-wire encryption (MSE): see the schema's doc. */
    encryption: 'enabled' | 'required' | 'disabled';
  };
  stream: {
    host: string;
    port: number;
    readahead_seconds: number;
    cors_origins: string[];
  };
  catalog: {
    backend: 'embedded' | 'elasticsearch';
    elasticsearch_url: string;
    elasticsearch_index: string;
  };
}

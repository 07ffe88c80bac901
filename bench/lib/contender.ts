// What every streaming client under test (webtorrent-cli, peerflix, Dream) looks like to a benchmark.

/** The torrent to stream and where its one seeder is. */
export interface StreamRequest {
  /** Path of the .torrent file, and its bytes. */
  torrentPath: string;
  torrent: Buffer;
  /** v1 info-hash, lowercase hex. */
  infoHash: string;
  /** Index of the file to stream in the torrent, and its path inside the torrent (for URLs). */
  fileIndex: number;
  filePath: string;
  /** The seeder, on 127.0.0.1. */
  peer: { host: string; port: number };
  /** A loopback tracker that knows the seeder, for clients that cannot be given a peer directly. */
  trackerUrl: string;
  /** Make the seeder dial a client's BitTorrent port on 127.0.0.1 (an incoming peer). */
  seederDial(port: number): Promise<void>;
  /** An empty directory the client may write its data and state into. */
  workDir: string;
  /**
   * Launch mpv through the client's own player option (`--mpv`, `--player mpv`), with this
   * environment for the client and the mpv it starts (see lib/mpv.ts); none: no player.
   */
  mpv?: { env: NodeJS.ProcessEnv };
}

/** A client asked to stream; its HTTP server may not be listening yet. */
export interface LaunchedStream {
  /** performance.now() at the moment the stream was asked for (spawn, or the API call). */
  askedAt: number;
  /** Where a player would read the file (http://127.0.0.1:<port>/...). */
  url: string;
  /** PID of the process that downloads (for CPU and memory accounting). */
  pid: number;
  /** Kill the client's process tree by PID and wait until it is gone. */
  stop(): Promise<void>;
  /** The last lines it printed, for error messages. */
  describe(): string;
}

export interface Contender {
  name: string;
  /** Ask for the stream; resolves at once (after any untimed set-up, such as a daemon's start). */
  launch(request: StreamRequest): Promise<LaunchedStream>;
}

/** Thrown by a contender that cannot run here; the benchmark prints the reason instead of figures. */
export class NotAvailable extends Error {}

// Default tuning. Every number is explained in docs/design/scheduler.md ("Numbers").
import type { PlanOptions } from './types.js';

export const DEFAULT_PLAN_OPTIONS: Readonly<PlanOptions> = Object.freeze({
  // A typical round trip to a remote peer plus its disk read; loopback peers answer faster, which
  // only makes our estimates pessimistic.
  defaultLatencyMs: 100,
  // Keep about one second of a peer's rate requested: enough to cover a round trip and the gap
  // before our next plan, small enough that a new urgent block waits at most ~1 s behind it.
  pipelineSeconds: 1,
  // Two requests keep a peer busy while the answer to the first crosses the wire.
  minPipeline: 2,
  // 250 x 16 KiB = 4 MiB in flight per peer: one second at 32 Mbit/s. 250 is the reqq libtorrent
  // advertised for years; most clients drop requests past their own queue limit.
  maxPipeline: 250,
  // A peer whose rate we do not know (idle long enough for its meter to reach 0) is assumed to be
  // modest (1 Mbit/s): 8 requests.
  unknownPeerRate: 128 * 1024,
  // A new connection's first round trip (nothing received yet, round trip measured by the
  // handshake) gets enough requests to keep a link this fast busy for that round trip: 52 at
  // 100 ms, a 1 MiB piece and more at 200 ms, still 8 on loopback. At 8 the first piece from a
  // peer 100-200 ms away took a round trip more than it needed, the pipeline growing only once the
  // first blocks were back (bench/remote-peer.ts). Sized by the round trip, not a flat 64: a flat
  // 64 also on loopback made eight viewers joining a capped origin at once queue 8 MiB there, and
  // their first frames and stalls doubled (bench/swarm.ts, joins 0.25 s apart).
  freshLinkRate: 8 * 1024 * 1024,
  // A block is stalled when in flight twice as long as the peer's queue should take, plus a margin.
  stallFactor: 2,
  stallMarginMs: 500,
  // Blocks needed within 5 s are urgent: slow and snubbed peers are skipped for them and stalled
  // ones are requested again. Beyond that, the window is filled calmly in deadline order.
  urgentHorizonMs: 5000,
  // A stalled or endgame block is in flight to at most two peers: one retry, not a broadcast.
  maxDuplicates: 2,
  // Twice ReadaheadWindow's cap: room for its windows, a guard against a reader spanning a file.
  maxWindowBytes: 256 * 1024 * 1024,
});

export function resolveOptions(partial: Partial<PlanOptions> | undefined): PlanOptions {
  return partial ? { ...DEFAULT_PLAN_OPTIONS, ...partial } : DEFAULT_PLAN_OPTIONS;
}

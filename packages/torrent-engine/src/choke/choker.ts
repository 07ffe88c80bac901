/**
 * Tit-for-tat choking, as a pure function (docs/design/engine.md#choking).
 *
 * Every CHOKE_INTERVAL_MS the engine asks which interested peers to unchoke:
 * - while downloading, the peers that gave us the most recently (download rate from them), so our
 *   upload goes to those who upload to us;
 * - while seeding (nothing left to fetch), the peers we upload to fastest: they finish soonest and
 *   turn into uploaders themselves (libtorrent's "fastest upload" seeding choker);
 * - plus one optimistic slot, rotated every OPTIMISTIC_INTERVAL_MS, that gives a peer with nothing
 *   to offer yet (a newcomer) the chance to prove itself. Newcomers are three times as likely to be
 *   picked (BEP 3 / mainline behaviour) because they have no rate yet.
 */

/** Regular unchoke slots. libtorrent's default unchoke_slots_limit is 8; mainline used 4. More slots
 *  spread a seeder's upload among more viewers (issue 7), at some cost in per-peer rate. */
export const UNCHOKE_SLOTS = 8;
export const CHOKE_INTERVAL_MS = 10_000;
export const OPTIMISTIC_INTERVAL_MS = 30_000;
/** A peer connected less than this is a newcomer for the optimistic draw. */
export const NEWCOMER_MS = 60_000;

export interface ChokeCandidate {
  id: string;
  interested: boolean;
  /** Payload rate from the peer to us, B/s. */
  downloadRate: number;
  /** Payload rate from us to the peer, B/s. */
  uploadRate: number;
  connectedAt: number;
  /** Peer already has everything: it never needs our upload. */
  seed: boolean;
}

export interface ChokeDecision {
  unchoke: Set<string>;
  optimistic: string | undefined;
}

/**
 * Chooses the unchoked set. `optimistic` is the current optimistic peer (kept if still interested);
 * `rotate` asks for a new one; `random` returns [0,1) (injected so tests are deterministic).
 */
export function chooseUnchoked(
  peers: ChokeCandidate[],
  opts: {
    seeding: boolean;
    now: number;
    optimistic?: string;
    rotate: boolean;
    slots?: number;
    random: () => number;
  },
): ChokeDecision {
  const slots = opts.slots ?? UNCHOKE_SLOTS;
  const candidates = peers.filter((p) => p.interested && !p.seed);
  const rate = opts.seeding ? (p: ChokeCandidate) => p.uploadRate : (p: ChokeCandidate) => p.downloadRate;
  // Stable order: rate, then the older connection (keeps the set from flapping between equals).
  const ranked = [...candidates].sort((a, b) => rate(b) - rate(a) || a.connectedAt - b.connectedAt);
  const regular = ranked.slice(0, Math.max(0, slots - 1));
  const unchoke = new Set(regular.map((p) => p.id));
  const rest = ranked.filter((p) => !unchoke.has(p.id));

  let optimistic = opts.optimistic;
  const stillThere = rest.some((p) => p.id === optimistic);
  if (opts.rotate || !stillThere) optimistic = pickOptimistic(rest, opts.now, opts.random);
  if (optimistic !== undefined) unchoke.add(optimistic);
  // Fewer candidates than slots: everyone interested is unchoked anyway.
  for (const p of rest) if (unchoke.size < slots) unchoke.add(p.id);
  return { unchoke, optimistic };
}

function pickOptimistic(rest: ChokeCandidate[], now: number, random: () => number): string | undefined {
  if (rest.length === 0) return undefined;
  const weights = rest.map((p) => (now - p.connectedAt < NEWCOMER_MS ? 3 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < rest.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return rest[i]?.id;
  }
  return rest[rest.length - 1]?.id;
}

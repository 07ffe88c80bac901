/**
 * Who may write what, as pure functions of the request, what the store holds and the time.
 *
 * - A signature is only accepted if it was made within SIGNATURE_WINDOW_MS of the server's clock, so
 *   a captured request cannot be replayed later (to this or any other catalog).
 * - An entry belongs to the key that created it: only that key may update or delete it.
 * - Each version's signed `updatedAt` must be later than the stored one, and later than the last
 *   deletion of that infohash (remembered as a tombstone): replaying an earlier write, or the same one,
 *   is refused even inside the window. A deletion must be signed after the version it deletes.
 */
import type { CatalogEntry, Tombstone } from '../entry.js';
import type { DeleteRequest } from '../signing.js';
import { CatalogHttpError } from './errors.js';

/** Why 10 minutes: tolerates ordinary clock drift on home machines, yet bounds any replay. */
export const SIGNATURE_WINDOW_MS = 10 * 60 * 1000;

function inWindow(at: string, nowMs: number, windowMs: number): CatalogHttpError | undefined {
  const skew = Date.parse(at) - nowMs;
  if (Math.abs(skew) <= windowMs) return undefined;
  const dir = skew > 0 ? 'in the future' : 'old';
  return new CatalogHttpError(
    'stale_request',
    `the request was signed at ${at}, ${Math.round(Math.abs(skew) / 1000)} s ${dir}: it must be within ${windowMs / 1000} s of the server's clock (${new Date(nowMs).toISOString()})`,
  );
}

export function decidePut(
  entry: CatalogEntry,
  existing: CatalogEntry | undefined,
  tombstone: Tombstone | undefined,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
): CatalogHttpError | undefined {
  const skew = inWindow(entry.updatedAt, nowMs, windowMs);
  if (skew) return skew;
  if (existing) {
    if (existing.publicKey !== entry.publicKey) {
      return new CatalogHttpError(
        'not_owner',
        `entry ${entry.infohash} belongs to another key; only its creator can change it`,
      );
    }
    if (entry.updatedAt <= existing.updatedAt) {
      return new CatalogHttpError(
        'replayed',
        `this version (updatedAt ${entry.updatedAt}) is not newer than the stored one (${existing.updatedAt}): a replay or a stale write`,
      );
    }
    if (entry.createdAt !== existing.createdAt) {
      return new CatalogHttpError(
        'invalid_time',
        `createdAt cannot change on update (stored ${existing.createdAt})`,
      );
    }
  }
  if (tombstone && entry.updatedAt <= tombstone.deletedAt) {
    return new CatalogHttpError(
      'replayed',
      `entry ${entry.infohash} was deleted at ${tombstone.deletedAt}, after this version was signed: a replay`,
    );
  }
  return undefined;
}

export function decideDelete(
  req: DeleteRequest,
  existing: CatalogEntry | undefined,
  nowMs: number,
  windowMs = SIGNATURE_WINDOW_MS,
): CatalogHttpError | undefined {
  const skew = inWindow(req.signedAt, nowMs, windowMs);
  if (skew) return skew;
  if (!existing) return new CatalogHttpError('not_found', `no entry with infohash ${req.infohash}`);
  if (existing.publicKey !== req.publicKey) {
    return new CatalogHttpError(
      'not_owner',
      `entry ${req.infohash} belongs to another key; only its creator can delete it`,
    );
  }
  if (req.signedAt <= existing.updatedAt) {
    return new CatalogHttpError(
      'replayed',
      `this deletion (signed ${req.signedAt}) is older than the stored version (${existing.updatedAt}): a replay or a stale request`,
    );
  }
  return undefined;
}

/** Paging arithmetic shared by both stores: clamp rather than fail (the routes reject bad input). */
import { MAX_RECENT_LIMIT, MAX_SEARCH_LIMIT, MAX_SEARCH_WINDOW, type SearchPage } from './entry.js';

export const DEFAULT_SEARCH_LIMIT = 20;
export const DEFAULT_RECENT_LIMIT = 20;

export function clampPage(page: SearchPage | undefined): { limit: number; offset: number } {
  const limit = Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(page?.limit ?? DEFAULT_SEARCH_LIMIT)));
  const offset = Math.max(0, Math.min(MAX_SEARCH_WINDOW - limit, Math.floor(page?.offset ?? 0)));
  return { limit, offset };
}

export function clampRecent(limit: number | undefined): number {
  return Math.max(1, Math.min(MAX_RECENT_LIMIT, Math.floor(limit ?? DEFAULT_RECENT_LIMIT)));
}

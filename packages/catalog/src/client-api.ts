/**
 * `@dream/catalog/client`: what a program that talks to a catalog needs (the HTTP client, entry
 * types and limits, signing), without the server, the stores or Elasticsearch's client, which
 * together cost dream-cli ~350 ms of start-up on every command.
 */
export {
  CatalogClient,
  CatalogClientError,
  type CatalogClientOptions,
  catalogBaseUrl,
  isAcceptableEntry,
} from './client.js';
export type { CatalogEntry, CatalogFile, SearchPage, SearchResponse, SearchResult } from './entry.js';
export {
  type DeleteRequest,
  loadOrCreateSigningKey,
  SIGNING_KEY_FILE,
  type SigningKey,
  signDelete,
  signEntry,
  type UnsignedEntry,
} from './signing.js';

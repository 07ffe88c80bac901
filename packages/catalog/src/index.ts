export { CatalogClient, CatalogClientError, type CatalogClientOptions, catalogBaseUrl } from './client.js';
export { buildElasticQuery, elasticIndexBody } from './elastic/query.js';
export { type ElasticStoreOptions, openElasticStore } from './elastic/store.js';
export { type EmbeddedStoreOptions, openEmbeddedStore } from './embedded/store.js';
export {
  type CatalogEntry,
  type CatalogFile,
  cleanEntry,
  type EntryProblem,
  entryProblem,
  isInfohash,
  MAX_FILES,
  MAX_QUERY_LENGTH,
  MAX_RECENT_LIMIT,
  MAX_SEARCH_LIMIT,
  MAX_SEARCH_WINDOW,
  MAX_TITLE_LENGTH,
  type SearchPage,
  type SearchResponse,
  type SearchResult,
  type Tombstone,
} from './entry.js';
export { CATALOG_ERROR_CODES, type CatalogErrorCode } from './http/errors.js';
export { type CatalogRoutesOptions, catalogRoutes } from './http/routes.js';
export { buildCatalogServer } from './http/server.js';
export { normalizeTitle, searchTokens } from './normalize.js';
export {
  type DeleteRequest,
  generateSigningKey,
  loadOrCreateSigningKey,
  SIGNING_KEY_FILE,
  type SigningKey,
  signDelete,
  signEntry,
  type UnsignedEntry,
  verifyDelete,
  verifyEntry,
} from './signing.js';
export { type CatalogStore, openCatalogStore, type PutResult } from './store.js';

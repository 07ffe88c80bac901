// What clients need (HTTP client, entry types, signing) is the light entry, `@dream/catalog/client`.
export * from './client-api.js';
export { buildElasticQuery, elasticIndexBody } from './elastic/query.js';
// Types only: openCatalogStore imports the Elasticsearch store (and its client, ~250 ms and ~13 MiB
// to load) only when the config asks for it; a value export here would load it in every daemon.
export type { ElasticStoreOptions } from './elastic/store.js';
export { type EmbeddedStoreOptions, openEmbeddedStore } from './embedded/store.js';
export {
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
  type Tombstone,
} from './entry.js';
export { CATALOG_ERROR_CODES, type CatalogErrorCode } from './http/errors.js';
export { type CatalogRoutesOptions, catalogRoutes } from './http/routes.js';
export { buildCatalogServer } from './http/server.js';
export { normalizeTitle, searchTokens } from './normalize.js';
export { generateSigningKey, verifyDelete, verifyEntry } from './signing.js';
export { type CatalogStore, openCatalogStore, type PutResult } from './store.js';

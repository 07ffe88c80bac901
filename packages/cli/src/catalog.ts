/** The catalog as dream-cli sees it: the network's (network.catalog_url) or this node's own. */
import { CatalogClient, CatalogClientError } from '@dream/catalog/client';
import type { DreamConfig } from '@dream/config';
import { localApiBase } from './daemons.js';
import { CliError } from './errors.js';

export function catalogUrl(config: DreamConfig): string {
  return config.network.catalog_url || `${localApiBase(config)}/catalog`;
}

export function catalogClient(config: DreamConfig): CatalogClient {
  return new CatalogClient({ baseUrl: catalogUrl(config) });
}

/** Runs a catalog call, turning "cannot reach it" into the CLI's error with the fix in it. */
export async function withCatalog<T>(
  config: DreamConfig,
  call: (c: CatalogClient) => Promise<T>,
): Promise<T> {
  try {
    return await call(catalogClient(config));
  } catch (err) {
    if (err instanceof CatalogClientError && err.code === 'unreachable') {
      throw CliError.catalogUnreachable(
        catalogUrl(config),
        err.message.replace(/^catalog \S+ unreachable: /, ''),
      );
    }
    if (err instanceof CatalogClientError) {
      throw new CliError(
        `CATALOG_${err.code.toUpperCase()}`,
        `The catalog refused the request: ${err.message}`,
        1,
      );
    }
    throw err;
  }
}

import { openEmbeddedStore } from '@dream/catalog';
import { contractSuite } from './contract.js';
import { tempDir } from './helpers.js';

contractSuite('embedded', async () => {
  const stateDir = tempDir('contract');
  const store = await openEmbeddedStore({ stateDir });
  return {
    store,
    reopen: async () => {
      await store.close();
      return openEmbeddedStore({ stateDir });
    },
  };
});

// The quickstart's main job. It grows with the product: today it shows the configuration every
// daemon will read (the defaults, since no file is needed).
import { loadConfig } from '../packages/config/dist/index.js';

const { config, file } = loadConfig();
console.log(`config file: ${file ?? '(none: every key at its default)'}`);
console.log(JSON.stringify(config, null, 2));

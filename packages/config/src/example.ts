/**
 * Renders the documented example config.toml from SCHEMA, so the example at the repository root can
 * never drift from the code: a test compares the two, and `dream-cli config init` writes this text.
 */
import { homedir } from 'node:os';
import { type KeySpec, SCHEMA } from './schema.js';

export function renderExampleConfig(env: NodeJS.ProcessEnv = process.env): string {
  const out: string[] = [
    '# Dream configuration. Every key is optional: a missing key takes the default shown here.',
    '# Read from --config PATH, else $DREAM_CONFIG, else $XDG_CONFIG_HOME/dream/config.toml.',
    '# Paths: ~ is expanded; the defaults follow the XDG base directories of whoever runs Dream.',
  ];
  const schema = SCHEMA as unknown as Record<string, Record<string, KeySpec>>;
  for (const [section, keys] of Object.entries(schema)) {
    out.push('', `[${section}]`);
    for (const [key, spec] of Object.entries(keys)) {
      out.push(`# ${spec.doc}`);
      out.push(`${key} = ${toToml(tildify(spec.default(env)))}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Shows paths under the home directory as ~/..., so the example is the same for every user. */
function tildify(v: unknown): unknown {
  const home = homedir();
  return typeof v === 'string' && v.startsWith(`${home}/`) ? `~${v.slice(home.length)}` : v;
}

function toToml(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(toToml).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

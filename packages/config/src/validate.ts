/**
 * Checks a parsed TOML document against SCHEMA: fills defaults, reports every wrong value at once
 * (a user fixes the whole file in one go) and warns about unknown keys with a "did you mean".
 */
import { resolve } from 'node:path';
import type { ConfigProblem } from './errors.js';
import { type KeySpec, type KeyType, SCHEMA } from './schema.js';
import type { DreamConfig } from './types.js';

export interface ValidationResult {
  config: DreamConfig;
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

export function validate(
  doc: Record<string, unknown>,
  opts: { file?: string; lines?: Map<string, number>; env?: NodeJS.ProcessEnv } = {},
): ValidationResult {
  const env = opts.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const at = (key: string, message: string): ConfigProblem => ({
    file: opts.file,
    line: opts.lines?.get(key),
    key,
    message,
  });
  const out: Record<string, Record<string, unknown>> = {};
  const schema = SCHEMA as unknown as Record<string, Record<string, KeySpec>>;

  for (const [name, value] of Object.entries(doc)) {
    if (!(name in schema)) {
      warnings.push(at(name, `unknown section, ignored${didYouMean(name, Object.keys(schema))}`));
    } else if (!isTable(value)) {
      problems.push(at(name, `expected a table [${name}], found ${describe(value)}`));
    }
  }

  for (const [section, keys] of Object.entries(schema)) {
    const given = isTable(doc[section]) ? (doc[section] as Record<string, unknown>) : {};
    const result: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(keys)) {
      const path = `${section}.${key}`;
      if (!(key in given)) {
        result[key] = spec.default(env);
        continue;
      }
      const checked = check(spec.type, given[key]);
      if (checked.ok) result[key] = checked.value;
      else {
        problems.push(
          at(
            path,
            `expected ${checked.expected}, found ${describe(given[key])}. Fix the value, or remove the line to use the default (${JSON.stringify(spec.default(env))}).`,
          ),
        );
        result[key] = spec.default(env);
      }
    }
    for (const key of Object.keys(given)) {
      if (!(key in keys)) {
        warnings.push(at(`${section}.${key}`, `unknown key, ignored${didYouMean(key, Object.keys(keys))}`));
      }
    }
    out[section] = result;
  }
  return { config: out as unknown as DreamConfig, problems, warnings };
}

type Checked = { ok: true; value: unknown } | { ok: false; expected: string };

function check(type: KeyType, v: unknown): Checked {
  const bad = (expected: string): Checked => ({ ok: false, expected });
  switch (type.kind) {
    case 'string':
      if (typeof v !== 'string') return bad('a string');
      if (type.nonEmpty && v.trim() === '') return bad('a non-empty string');
      return { ok: true, value: v };
    case 'path':
      if (typeof v !== 'string' || v.trim() === '') return bad('a path (a non-empty string)');
      return { ok: true, value: resolve(expandHome(v)) };
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: v } : bad('true or false');
    case 'int': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < type.min || n > type.max) {
        return bad(`an integer from ${type.min} to ${type.max}`);
      }
      return { ok: true, value: n };
    }
    case 'enum':
      return typeof v === 'string' && type.values.includes(v)
        ? { ok: true, value: v }
        : bad(`one of ${type.values.map((x) => JSON.stringify(x)).join(', ')}`);
    case 'stringList':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? { ok: true, value: v }
        : bad('a list of strings, e.g. ["a", "b"]');
    case 'hostPortList':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' && parseHostPort(x) !== undefined)
        ? { ok: true, value: v }
        : bad('a list of "host:port" strings, e.g. ["dht.example.org:6881", "[::1]:6881"]');
    case 'url': {
      if (typeof v !== 'string') return bad('a URL string');
      if (v === '' && type.allowEmpty) return { ok: true, value: v };
      try {
        const u = new URL(v);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad('an http:// or https:// URL');
        return { ok: true, value: v.replace(/\/+$/, '') };
      } catch {
        return bad('an http:// or https:// URL');
      }
    }
  }
}

/** Parses "host:port" or "[v6]:port". Returns undefined when it is not one. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? `${process.env.HOME ?? ''}${p.slice(1)}` : p;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v)} (a string)`;
  if (typeof v === 'number' || typeof v === 'bigint') return `${v} (a number)`;
  if (typeof v === 'boolean') return `${v} (a boolean)`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  return String(v);
}

function didYouMean(name: string, options: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(name.toLowerCase(), o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

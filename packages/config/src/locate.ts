/**
 * Finds the line a key is written on. smol-toml returns values without positions, and a user
 * needs a line number to fix a wrong value, so we scan the text: table headers set the current
 * section, `key =` lines (plain, quoted or dotted) name keys. Good enough for config files; when
 * a key cannot be found (inline tables, odd quoting) the message simply has no line.
 */
export function locateKeys(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  let section: string[] = [];
  const text = source.split(/\r?\n/);
  for (let i = 0; i < text.length; i++) {
    const line = text[i]!.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      section = splitDotted(header[1]!);
      if (!lines.has(section.join('.'))) lines.set(section.join('.'), i + 1);
      continue;
    }
    const assign = /^((?:"[^"]*"|'[^']*'|[A-Za-z0-9_.\- ]+?))\s*=/.exec(line);
    if (assign) {
      const key = [...section, ...splitDotted(assign[1]!)].join('.');
      if (!lines.has(key)) lines.set(key, i + 1);
    }
  }
  return lines;
}

function splitDotted(s: string): string[] {
  const parts: string[] = [];
  const re = /\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*(\.|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    parts.push(m[2] ?? m[3] ?? m[1]!);
    if (m[4] === '') break;
  }
  return parts;
}

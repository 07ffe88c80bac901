/**
 * Path sanitisation for file names taken from a .torrent (STYLE.md #7, after libtorrent's
 * sanitize_append_path_element). Every element is rewritten so that, joined under a root, it names
 * a plain entry inside that root on Linux, macOS and Windows alike. Storage then checks containment
 * again when it opens a file (defence in depth), so a bug here cannot escape the root.
 *
 * Rules, per element:
 * - bytes are decoded as UTF-8; invalid sequences become '_';
 * - control characters (U+0000-U+001F, U+007F) and the separators '/' and '\' become '_';
 * - '', '.' and '..' are dropped (so '../../etc/x' becomes 'etc/x', and an absolute path loses its
 *   leading empty element);
 * - trailing dots and spaces are removed (Windows strips them silently, which would merge names);
 * - reserved Windows device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an
 *   extension, any case) get a leading '_';
 * - an element longer than 255 UTF-8 bytes (the NAME_MAX of common file systems) is cut at a code
 *   point boundary, keeping a short extension.
 * Characters such as ':' or '?' are kept: they are legal on POSIX and common in titles.
 */

/** NAME_MAX on ext4, btrfs, APFS and NTFS (in UTF-16 units there, which 255 bytes never exceed). */
export const MAX_ELEMENT_BYTES = 255;

const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();

/** Decode UTF-8, replacing every invalid sequence with '_'. */
export function decodeName(bytes: Uint8Array): string {
  return utf8.decode(bytes).replace(/\uFFFD/g, '_');
}

/** True when the bytes are valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Sanitise one path element. Returns undefined when the element must be dropped. */
export function sanitizeElement(raw: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we strip
  let s = raw.replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  if (s === '' || s === '.' || s === '..') return undefined;
  s = s.replace(/[. ]+$/, '');
  if (s === '') s = '_';
  if (RESERVED.test(s)) s = `_${s}`;
  return truncateUtf8(s, MAX_ELEMENT_BYTES);
}

/** Sanitise a list of elements; an entirely dropped path becomes '_'. */
export function sanitizePath(elements: string[]): string[] {
  const out: string[] = [];
  for (const e of elements) {
    const s = sanitizeElement(e);
    if (s !== undefined) out.push(s);
  }
  return out.length > 0 ? out : ['_'];
}

function truncateUtf8(s: string, maxBytes: number): string {
  if (encoder.encode(s).length <= maxBytes) return s;
  const dot = s.lastIndexOf('.');
  const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : '';
  const budget = maxBytes - encoder.encode(ext).length;
  let out = '';
  let used = 0;
  for (const ch of s.slice(0, s.length - ext.length)) {
    const n = encoder.encode(ch).length;
    if (used + n > budget) break;
    out += ch;
    used += n;
  }
  return out + ext;
}

/**
 * Make file paths unique after sanitisation. Two files may collide ('a/b' and 'a\\b' both become
 * 'a_b'), or a file may sit where another file needs a directory ('a' and 'a/b'). The later one gets
 * ' (n)' added to the colliding element, so no file ever overwrites another or is opened through one.
 */
export class PathDeduper {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();

  add(elements: string[]): string[] {
    const els = [...elements];
    for (let i = 0; i < els.length; i++) {
      const isLast = i === els.length - 1;
      const base = els[i] as string;
      let n = 0;
      for (;;) {
        const prefix = els.slice(0, i + 1).join('/');
        const clash = isLast ? this.files.has(prefix) || this.dirs.has(prefix) : this.files.has(prefix);
        if (!clash) break;
        n++;
        els[i] = withSuffix(base, n);
      }
    }
    for (let i = 1; i < els.length; i++) this.dirs.add(els.slice(0, i).join('/'));
    this.files.add(els.join('/'));
    return els;
  }
}

function withSuffix(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  // 255 bytes minus room for ' (n)' and a short extension (16 UTF-16 units, at most 48 bytes).
  return `${truncateUtf8(name.slice(0, name.length - ext.length), MAX_ELEMENT_BYTES - 80)} (${n})${ext}`;
}

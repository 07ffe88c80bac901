import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, EXIT_CONFIG, loadConfig, loadConfigText, renderExampleConfig } from '@dream/config';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'dream-config-'));
const write = (name: string, text: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('defaults', () => {
  it('works with no file at all, following XDG', () => {
    const env = { XDG_CONFIG_HOME: join(dir, 'nothing-here'), XDG_STATE_HOME: '/srv/state' };
    const { config, file } = loadConfig({ env });
    expect(file).toBeUndefined();
    expect(config.dht.port).toBe(6881);
    expect(config.torrent.port).toBe(6881);
    expect(config.stream.host).toBe('127.0.0.1');
    expect(config.general.state_dir).toBe('/srv/state/dream');
    expect(config.network.bootstrap_nodes).toContain('dht.libtorrent.org:25401');
    expect(config.network.bootstrap_nodes).not.toContain('router.bittorrent.com:6881');
    expect(config.catalog.backend).toBe('embedded');
  });

  it('reads DREAM_CONFIG, and --config wins over it', () => {
    const a = write('a.toml', '[dht]\nport = 7000\n');
    const b = write('b.toml', '[dht]\nport = 7001\n');
    expect(loadConfig({ env: { DREAM_CONFIG: a } }).config.dht.port).toBe(7000);
    expect(loadConfig({ path: b, env: { DREAM_CONFIG: a } }).config.dht.port).toBe(7001);
  });

  it('the root config.toml is the rendered schema and parses to the defaults', () => {
    const root = readFileSync(new URL('../../../config.toml', import.meta.url), 'utf8');
    expect(root).toBe(renderExampleConfig({}));
    const { config, warnings } = loadConfigText(root, 'config.toml');
    expect(warnings).toEqual([]);
    expect(config.network.bootstrap_nodes.length).toBeGreaterThan(0);
  });

  it('an empty bootstrap list is kept (a brand-new network)', () => {
    const { config } = loadConfigText('[network]\nbootstrap_nodes = []\nprivate = true\n', 'x.toml');
    expect(config.network.bootstrap_nodes).toEqual([]);
    expect(config.network.private).toBe(true);
  });
});

// Each bad file, with the line and the words its message must contain.
const BAD: Array<{ name: string; text: string; line?: number; contains: string[] }> = [
  {
    name: 'port out of range',
    text: '[general]\nplayer = "mpv"\n\n[dht]\nport = 70000\n',
    line: 5,
    contains: ['dht.port', 'an integer from 0 to 65535', '70000 (a number)', 'default (6881)'],
  },
  {
    name: 'port as a string',
    text: '[torrent]\nport = "6881"\n',
    line: 2,
    contains: ['torrent.port', '"6881" (a string)'],
  },
  {
    name: 'bool as a string',
    text: '[dht]\nenabled = "yes"\n',
    line: 2,
    contains: ['dht.enabled', 'true or false', '"yes"'],
  },
  {
    name: 'unknown enum value',
    text: '[catalog]\nbackend = "elastic"\n',
    line: 2,
    contains: ['catalog.backend', '"embedded", "elasticsearch"', '"elastic"'],
  },
  {
    name: 'bootstrap node without port',
    text: '[network]\nbootstrap_nodes = ["dht.example.org"]\n',
    line: 2,
    contains: ['network.bootstrap_nodes', 'host:port'],
  },
  {
    name: 'catalog_url not a URL',
    text: '[network]\ncatalog_url = "ftp://x"\n',
    line: 2,
    contains: ['network.catalog_url', 'http:// or https://'],
  },
  {
    name: 'TOML syntax error',
    text: '[dht]\nport = \n',
    line: 2,
    contains: ['not valid TOML'],
  },
  {
    name: 'section that is not a table',
    text: 'dht = 5\n',
    line: 1,
    contains: ['dht', 'expected a table'],
  },
  {
    name: 'empty player',
    text: '[general]\nplayer = ""\n',
    line: 2,
    contains: ['general.player', 'non-empty'],
  },
  {
    name: 'readahead zero',
    text: '[stream]\nreadahead_seconds = 0\n',
    line: 2,
    contains: ['stream.readahead_seconds', 'from 1 to 3600'],
  },
];

describe('bad files', () => {
  for (const bad of BAD) {
    it(`refuses: ${bad.name}`, () => {
      const file = write(`${bad.name.replace(/\W+/g, '-')}.toml`, bad.text);
      let err: unknown;
      try {
        loadConfig({ path: file });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.exitCode).toBe(EXIT_CONFIG);
      expect(e.message).toContain(file);
      if (bad.line) expect(e.problems[0]!.line).toBe(bad.line);
      if (bad.line) expect(e.message).toContain(`${file}:${bad.line}:`);
      for (const c of bad.contains) expect(e.message).toContain(c);
    });
  }

  it('reports every problem at once', () => {
    const file = write('many.toml', '[dht]\nport = -1\napi_port = "x"\n[stream]\nport = 1.5\n');
    try {
      loadConfig({ path: file });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => [p.key, p.line])).toEqual([
        ['dht.port', 2],
        ['dht.api_port', 3],
        ['stream.port', 5],
      ]);
    }
  });

  it('an explicit path that does not exist is an error that says how to create one', () => {
    expect(() => loadConfig({ path: join(dir, 'missing.toml') })).toThrow(/does not exist.*config init/);
  });

  it('binary garbage is refused as not UTF-8', () => {
    const file = write('garbage.toml', Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x81]));
    expect(() => loadConfig({ path: file })).toThrow(/not valid UTF-8/);
  });

  it('a directory is refused', () => {
    expect(() => loadConfig({ path: dir })).toThrow(/is a directory/);
  });
});

describe('unknown keys', () => {
  it('are warned with a suggestion, not silently ignored', () => {
    const { warnings, config } = loadConfigText('[dht]\nprot = 7000\n[strem]\nport = 1\n', 'w.toml');
    expect(config.dht.port).toBe(6881);
    expect(warnings.map((w) => [w.key, w.line])).toEqual([
      ['strem', 3],
      ['dht.prot', 2],
    ]);
    expect(warnings[0]!.message).toContain('did you mean "stream"');
    expect(warnings[1]!.message).toContain('did you mean "port"');
  });
});

describe('a program started with a bad config', () => {
  it('exits 78 with the message on stderr, before doing anything', () => {
    const file = write('exit.toml', '[dht]\nport = "nope"\n');
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { startupConfig } from ${JSON.stringify(entry)};
         startupConfig('dream-test', { config: ${JSON.stringify(file)} });
         console.log('STARTED');`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(78);
    expect(r.stdout).not.toContain('STARTED');
    expect(r.stderr).toContain('dream-test: invalid configuration');
    expect(r.stderr).toContain(`${file}:2: dht.port: expected an integer`);
  });
});

/** Human or JSON output: every command prints through here so `--json` works everywhere. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: string;
}

export function output(g: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

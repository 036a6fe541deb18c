/** Command-line flag parsing shared by `thinpool-operator` and `thinpool-agent run`. Pure. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("500ms", "15s", "1m30s", "2h") into milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, value, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g))
    total += Number(value) * UNITS[unit!]!;
  return total;
}

/** Splits a bind address (":8080", "127.0.0.1:8080") into host and port; "0" means disabled. */
export function parseBindAddress(text: string): { host: string; port: number } | 'disabled' | undefined {
  if (text === '0') return 'disabled';
  const match = /^(.*):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * `--name value`, `--name=value` and bare boolean flags (`--help`, `-h`), read one by one: every problem
 * lands in {@link FlagReader.errors}, and {@link FlagReader.reportUnknown} names the flags nobody took.
 */
export class FlagReader {
  /** Problems found so far, in the order they were found. */
  readonly errors: string[] = [];
  private readonly values = new Map<string, string>();

  constructor(argv: readonly string[], booleanFlags: ReadonlySet<string>) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '-h') {
        this.values.set('help', 'true');
        continue;
      }
      const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
      if (!match) {
        this.errors.push(`unexpected argument "${arg}"`);
        continue;
      }
      const name = match[1]!;
      const inline = match[2];
      if (inline !== undefined) this.values.set(name, inline);
      else if (booleanFlags.has(name)) this.values.set(name, 'true');
      else if (i + 1 < argv.length) this.values.set(name, argv[++i]!);
      else this.errors.push(`flag --${name} needs a value`);
    }
  }

  /** The value of `--name`, taken (so it is not reported as unknown), or undefined. */
  take(name: string): string | undefined {
    const value = this.values.get(name);
    this.values.delete(name);
    return value;
  }

  /** A boolean flag: `true`/`1`, `false`/`0`, or `fallback` when absent. */
  bool(name: string, fallback: boolean): boolean {
    const value = this.take(name);
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.errors.push(`--${name}: Invalid value "${value}": must be true or false`);
    return fallback;
  }

  /** A duration flag in milliseconds, at least `minMs` when given; `fallbackMs` when absent or invalid. */
  duration(name: string, fallbackMs: number, minMs?: number): number {
    const value = this.take(name);
    if (value === undefined) return fallbackMs;
    const ms = parseDuration(value);
    if (ms === undefined || (minMs !== undefined && ms < minMs)) {
      this.errors.push(
        minMs === undefined
          ? `--${name}: Invalid value "${value}": must be a duration such as 15s or 1m30s`
          : `--${name}: Invalid value "${value}": must be a duration of at least ${minMs} ms, such as 10s`,
      );
      return fallbackMs;
    }
    return ms;
  }

  /** Adds an "unknown flag" error for every flag given but never taken. */
  reportUnknown(): void {
    for (const name of this.values.keys()) this.errors.push(`unknown flag --${name}`);
  }
}

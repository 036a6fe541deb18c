import type { FileStat, Host, RunOptions, RunResult, WriteFileOptions } from './host.js';
import { DEFAULT_TIMEOUT_MS, runCommand, startInteractive } from './command-runner.js';
import { SessionRunner } from './session.js';
import { HostFiles } from './host-files.js';

/** Options of {@link LocalHost}. */
export interface LocalHostOptions {
  /** Timeout of a command without its own (default 120 s). */
  defaultTimeoutMs?: number;
}

/** The `Host` of the standalone agent: commands and files of the machine it runs on. */
export class LocalHost implements Host {
  readonly kind = 'local';
  private readonly files = new HostFiles('/');
  private readonly defaultTimeoutMs: number;
  private sessionRunner?: SessionRunner;

  constructor(options: LocalHostOptions = {}) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private get sessions(): SessionRunner {
    this.sessionRunner ??= new SessionRunner(startInteractive([]), this.defaultTimeoutMs);
    return this.sessionRunner;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (options?.session) return this.sessions.run(argv, { ...options, session: options.session });
    return runCommand(argv, options, [], this.defaultTimeoutMs);
  }

  readFile(path: string): Promise<string | undefined> {
    return this.files.readFile(path);
  }

  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.files.writeFile(path, content, options);
  }

  stat(path: string): Promise<FileStat> {
    return this.files.stat(path);
  }
}

import type { FileStat, Host, RunOptions, RunResult, WriteFileOptions } from './host.js';
import { DEFAULT_TIMEOUT_MS, runCommand, startInteractive } from './command-runner.js';
import { SessionRunner } from './session.js';
import { HostFiles } from './host-files.js';

/** The prefix that runs a command in the namespaces of the host's PID 1 (needs `hostPID: true`). */
export const NSENTER_PREFIX = [
  'nsenter',
  '--target',
  '1',
  '--mount',
  '--uts',
  '--ipc',
  '--net',
  '--pid',
  '--',
];

/** Options of {@link NsenterHost}. */
export interface NsenterHostOptions {
  /** Where the host's `/` is mounted in the pod (default `/host`). */
  hostRoot?: string;
  /** Timeout of a command without its own (default 120 s). */
  defaultTimeoutMs?: number;
}

/**
 * The `Host` of the agent in a privileged pod: commands run in the host's namespaces, so the host's LVM,
 * udev and dmeventd are used; files go through the host-root mount.
 */
export class NsenterHost implements Host {
  readonly kind = 'nsenter';
  private readonly files: HostFiles;
  private readonly defaultTimeoutMs: number;
  private sessionRunner?: SessionRunner;

  constructor(options: NsenterHostOptions = {}) {
    this.files = new HostFiles(options.hostRoot ?? '/host');
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private get sessions(): SessionRunner {
    this.sessionRunner ??= new SessionRunner(startInteractive(NSENTER_PREFIX), this.defaultTimeoutMs);
    return this.sessionRunner;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (options?.session) return this.sessions.run(argv, { ...options, session: options.session });
    return runCommand(argv, options, NSENTER_PREFIX, this.defaultTimeoutMs);
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

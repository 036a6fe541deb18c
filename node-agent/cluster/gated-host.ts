import type { FileStat, Host, RunOptions, RunResult, WriteFileOptions } from '../host/host.js';
import { isMutatingRun } from '../host/logged-host.js';

/** A mutating operation refused because the agent is shutting down. */
export class AgentStoppingError extends Error {
  constructor(what: string) {
    super(`Not started because the agent is stopping: ${what}`);
    this.name = 'AgentStoppingError';
  }
}

/**
 * A `Host` that can be closed for graceful shutdown: after {@link close}, new mutating commands and file
 * writes are refused, while the ones already running finish (they are never killed mid-way, so LVM is not
 * interrupted between a table suspend and resume); reads keep working. `beforeMutation` runs before each
 * mutating operation (the agent writes the `Provisioning` phase from it).
 */
export class GatedHost implements Host {
  readonly kind: string;
  private closed = false;
  private readonly running = new Set<Promise<unknown>>();
  /** Called (and awaited) before each mutating command or file write. */
  beforeMutation?: () => Promise<void>;

  constructor(private readonly inner: Host) {
    this.kind = inner.kind;
  }

  /** Mutating operations running now. */
  get mutationsInFlight(): number {
    return this.running.size;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (!isMutatingRun(argv, options)) return this.inner.run(argv, options);
    return this.mutate(argv.join(' '), () => this.inner.run(argv, options));
  }

  readFile(path: string): Promise<string | undefined> {
    return this.inner.readFile(path);
  }

  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.mutate(`write ${path}`, () => this.inner.writeFile(path, content, options));
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }

  /** Refuses new mutations; resolves when the running ones have finished. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async mutate<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new AgentStoppingError(what);
    await this.beforeMutation?.();
    if (this.closed) throw new AgentStoppingError(what);
    const running = operation();
    this.running.add(running);
    try {
      return await running;
    } finally {
      this.running.delete(running);
    }
  }
}

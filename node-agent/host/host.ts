/**
 * The `Host` port: the only way the node agent touches its node. Implementations run commands with
 * argument arrays (never a shell string) under `LC_ALL=C`, and read, write and stat files.
 *
 * - `LocalHost` (node-agent/host/local-host.ts): standalone on a plain host.
 * - `NsenterHost` (node-agent/host/nsenter-host.ts): in a privileged pod; commands enter the host's
 *   namespaces through `nsenter --target 1`, files go through a host-root mount.
 * - The persistent VM guest (test/vm/): tests run every command inside a real Debian kernel.
 */

/** Options for one command. */
export interface RunOptions {
  /** Kill the command after this many milliseconds (default: the host's default, 120 s). */
  timeoutMs?: number;
  /** Abort the command (the host sends SIGTERM). */
  signal?: AbortSignal;
  /** Text written to the command's standard input. */
  input?: string;
  /** Exit codes that are not failures (default: only 0). */
  okExitCodes?: readonly number[];
  /** Extra environment variables; `LC_ALL=C` is always set. */
  env?: Readonly<Record<string, string>>;
  /**
   * Keep the process running across calls that pass the same session (see {@link CommandSession}); the
   * call then writes `input` to that process and returns the output that answers it.
   */
  session?: CommandSession;
}

/**
 * A process kept running across `run` calls, such as an `lvm` shell fed one command at a time (ADR 0092).
 * The first call that passes a session starts its `argv` (with that call's `env`); every call writes its
 * `input` to the process's standard input and resolves, with exit code 0, with the output written since,
 * once {@link answered} says it is complete. When the process asks a question on stderr, {@link reply}
 * gives the answer to write. A call's timeout or abort kills the process (the call rejects); so does a
 * process that exits during a call (the call rejects with its exit code); the next call starts a new one.
 * Aborting {@link closed} closes the process's stdin (it ends by itself) and kills it if it lingers.
 *
 * A host that does not keep sessions runs each call as its own process with that input; a session's
 * commands must mean the same either way (the `lvm` shell runs the lines of its stdin and exits).
 */
export interface CommandSession {
  /** Aborted when the session is over. */
  readonly closed: AbortSignal;
  /** True when `stdout`, everything written since this call's input was sent, answers all of it. */
  answered(stdout: string): boolean;
  /** The text to write when stderr (everything written since this call's input) ends in a question. */
  reply(stderr: string): string | undefined;
}

/** What a finished command returned. */
export interface RunResult {
  /** The command line as run, program first. */
  argv: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** The kind of a filesystem entry, as `stat` reports it (symlinks are followed). */
export type FileType = 'file' | 'directory' | 'block-device' | 'character-device' | 'other';

/** Result of {@link Host.stat}. */
export type FileStat =
  { exists: false } | { exists: true; type: FileType; sizeBytes: number; mode: number; mtimeMs: number };

/** Options for {@link Host.writeFile}. */
export interface WriteFileOptions {
  /** File mode for a new file (default 0o644). */
  mode?: number;
}

/** The node-facing port of the agent. */
export interface Host {
  /** A short name for logs ("local", "nsenter", "vm"). */
  readonly kind: string;
  /**
   * Runs a program with an argument array. Resolves when it exits with an allowed code; rejects with a
   * {@link CommandError} otherwise (non-zero exit, timeout, abort, or the program is missing).
   */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Reads a text file; resolves `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes a text file atomically (temporary file in the same directory, fsync, rename). */
  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void>;
  /** Stats a path, following symlinks. */
  stat(path: string): Promise<FileStat>;
}

/** A command that failed: carries the full command line, exit code and stderr. */
export class CommandError extends Error {
  /** The command line, program first. */
  readonly argv: readonly string[];
  /** Exit code, or `undefined` when the process did not exit by itself (timeout, abort, spawn failure). */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it failed when there is no exit code: "timeout", "aborted", "signal SIGKILL", "not found". */
  readonly reason?: string;

  constructor(init: {
    argv: readonly string[];
    exitCode: number | undefined;
    stdout?: string;
    stderr?: string;
    cause?: string;
  }) {
    const what = init.exitCode !== undefined ? `exit code ${init.exitCode}` : (init.cause ?? 'failed');
    const stderr = (init.stderr ?? '').trim();
    super(`Command failed (${what}): ${formatArgv(init.argv)}${stderr ? `: ${stderr}` : ''}`);
    this.name = 'CommandError';
    this.argv = init.argv;
    this.exitCode = init.exitCode;
    this.stdout = init.stdout ?? '';
    this.stderr = init.stderr ?? '';
    this.reason = init.cause;
  }
}

/** Renders an argument array as a readable, copy-pasteable command line (for logs and plans only). */
export function formatArgv(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

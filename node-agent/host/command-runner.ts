import { execa } from 'execa';
import { CommandError, type RunOptions, type RunResult } from './host.js';
import type { StartInteractive } from './session.js';

/** Default per-command timeout of the agent's hosts. */
export const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Runs `prefix + argv` with execa (argument array, no shell, `LC_ALL=C`) and returns the result under the
 * logical `argv`, so logs and plans show the command the agent meant, not the namespace-entering prefix.
 */
export async function runCommand(
  argv: readonly string[],
  options: RunOptions = {},
  prefix: readonly string[] = [],
  defaultTimeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<RunResult> {
  if (argv.length === 0 || argv[0] === '') throw new Error('Refused to run an empty command');
  const full = [...prefix, ...argv];
  const started = performance.now();
  const result = await execa(full[0]!, full.slice(1), {
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeoutMs ?? defaultTimeoutMs,
    cancelSignal: options.signal,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    env: { ...options.env, LC_ALL: 'C' },
    extendEnv: true,
    forceKillAfterDelay: 5_000,
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const durationMs = performance.now() - started;
  const ok = options.okExitCodes ?? [0];
  if (
    result.exitCode !== undefined &&
    ok.includes(result.exitCode) &&
    !result.isCanceled &&
    !result.timedOut
  ) {
    return { argv, exitCode: result.exitCode, stdout, stderr, durationMs };
  }
  let cause: string | undefined;
  if (result.timedOut) cause = 'timeout';
  else if (result.isCanceled) cause = 'aborted';
  else if ((result as { code?: string }).code === 'ENOENT') cause = 'not found';
  else if (result.signal) cause = `signal ${result.signal}`;
  throw new CommandError({
    argv,
    exitCode: result.timedOut || result.isCanceled ? undefined : result.exitCode,
    stdout,
    stderr,
    cause,
  });
}

/**
 * Starts `prefix + argv` with execa, stdin kept open, for a command session (`SessionRunner`). Killing it
 * closes stdin and sends SIGTERM, then SIGKILL 5 s later (through `nsenter`, the command behind it sees
 * its stdin close and ends after its current step).
 */
export function startInteractive(prefix: readonly string[] = []): StartInteractive {
  return (argv, env, handlers) => {
    const full = [...prefix, ...argv];
    const subprocess = execa(full[0]!, full.slice(1), {
      reject: false,
      buffer: false,
      stdin: 'pipe',
      env: { ...env, LC_ALL: 'C' },
      extendEnv: true,
      forceKillAfterDelay: 5_000,
    });
    for (const [fd, stream] of [
      [1, subprocess.stdout],
      [2, subprocess.stderr],
    ] as const) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => handlers.output(fd, text));
    }
    subprocess.stdin.on('error', () => {}); // EPIPE once the process is gone.
    void subprocess.then((result) => {
      const code = (result as { code?: string }).code;
      if (code === 'ENOENT') handlers.exit(undefined, 'not found');
      else if (result.signal) handlers.exit(undefined, `signal ${result.signal}`);
      else handlers.exit(result.exitCode);
    });
    return {
      write: (text) => void subprocess.stdin.write(text),
      end: () => void subprocess.stdin.end(),
      kill: () => {
        subprocess.stdin.end();
        subprocess.kill();
      },
    };
  };
}

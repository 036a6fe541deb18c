import { execa } from 'execa';
import { CommandError, type RunOptions, type RunResult } from './host.js';

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

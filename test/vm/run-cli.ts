/**
 * The one-shot runner behind `test/vm/run`: boots a VM, runs one command at the repo root with its output
 * streamed, stops the VM, and exits with the command's exit code (124 timeout, 125 the guest died or the
 * VM could not start). Usage in options.ts (RUN_USAGE).
 */
import { startVm, VmUnavailableError, type OwnedVm } from './vm.js';
import { parseRunArgs, shellExitCode, RUN_USAGE, VmOptionError } from './options.js';

const EXIT_USAGE = 2;
const EXIT_TIMEOUT = 124;
const EXIT_GUEST_DIED = 125;

function fail(message: string): void {
  process.stderr.write(`test/vm/run: ${message}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  let options;
  try {
    options = parseRunArgs(argv, process.env);
  } catch (err) {
    if (!(err instanceof VmOptionError)) throw err;
    fail(`${err.message}\n${RUN_USAGE}`);
    return EXIT_USAGE;
  }

  let vm: OwnedVm | undefined;
  let timedOut = false;
  let interrupted = false;
  const booting = new AbortController();
  const deadline = setTimeout(() => {
    timedOut = true;
    fail(`timed out after ${options.timeoutSec} s; the VM was killed`);
    booting.abort();
    void vm?.stop({ graceful: false });
  }, options.timeoutSec * 1000);
  const onSignal = (): void => {
    interrupted = true;
    booting.abort();
    void vm?.stop({ graceful: false });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    vm = await startVm({
      disks: options.disks,
      memory: `${options.memoryMiB}M`,
      cpus: options.cpus,
      shares: options.shares,
      verbose: options.verbose,
      signal: booting.signal,
    });
    if (timedOut || interrupted) {
      await vm.stop({ graceful: false });
      return timedOut ? EXIT_TIMEOUT : 130;
    }
    const env: Record<string, string> = {};
    for (const name of options.env) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    const owned = vm;
    const guestGone = owned.gone.then((reason) => ({ gone: reason }));
    const running = owned
      .runStreaming(options.command, {
        env,
        timeoutMs: options.timeoutSec * 1000,
        onOutput: (fd, data) => (fd === 1 ? process.stdout : process.stderr).write(data),
      })
      // The broker fails the request when the guest goes: report that as the guest's end.
      .catch(() => guestGone);
    // The command's own result, or the guest's end (a kernel panic powers the VM off).
    const outcome = await Promise.race([running, guestGone]);
    if ('gone' in outcome) {
      if (timedOut) return EXIT_TIMEOUT;
      if (interrupted) return 130;
      fail(
        `the guest died without reporting an exit code (${outcome.gone}); guest console:\n${vm.consoleTail(30)}`,
      );
      await vm.stop({ graceful: false });
      return EXIT_GUEST_DIED;
    }
    if (outcome.reason === 'not found') fail(`${options.command[0]}: command not found in the guest`);
    await vm.stop();
    return shellExitCode(outcome);
  } catch (err) {
    if (timedOut) return EXIT_TIMEOUT;
    if (interrupted) return 130;
    fail(
      err instanceof VmUnavailableError
        ? err.message
        : `the VM failed: ${(err as Error).stack ?? String(err)}`,
    );
    await vm?.stop({ graceful: false });
    return EXIT_GUEST_DIED;
  } finally {
    clearTimeout(deadline);
  }
}

process.exitCode = await main(process.argv.slice(2));

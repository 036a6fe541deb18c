/**
 * Keeps one test VM running for other processes: boots it, prints one JSON line on stdout and serves the
 * broker socket until SIGTERM or SIGINT (or, with `--stdin-lifetime`, until its standard input closes, so
 * the VM never outlives the process that started it). jest-global-setup.ts runs it; developers can too:
 *
 *   npx tsx test/vm/serve.ts [--disk NAME:SIZE]... [--memory 4G] [--cpus 2] [--socket PATH]
 *
 * Without --disk it attaches the standard disks of the jest `vm` project. The JSON line is
 * `{"socketPath":...,"info":{...}}`, or `{"error":...,"reason":...}` before exiting with code 1.
 */
import { parseDiskSpec, validateCpus, VmOptionError, type DiskSpec } from './options.js';
import { STANDARD_DISKS, startVm, VmUnavailableError, type OwnedVm } from './vm.js';

interface ServeOptions {
  disks: DiskSpec[];
  memory?: string;
  cpus?: number;
  socketPath?: string;
  stdinLifetime: boolean;
}

function parseServeArgs(argv: readonly string[]): ServeOptions {
  const options: ServeOptions = { disks: [], stdinLifetime: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new VmOptionError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--disk') options.disks.push(parseDiskSpec(value()));
    else if (flag === '--memory') options.memory = value();
    else if (flag === '--cpus') options.cpus = validateCpus(value());
    else if (flag === '--socket') options.socketPath = value();
    else if (flag === '--stdin-lifetime') options.stdinLifetime = true;
    else throw new VmOptionError(`Unknown option '${flag}'`);
  }
  if (options.disks.length === 0) options.disks = [...STANDARD_DISKS];
  return options;
}

function report(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  let vm: OwnedVm;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= vm.stop().then(() => process.exit(0)));
  try {
    const options = parseServeArgs(process.argv.slice(2));
    vm = await startVm(options);
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
    if (options.stdinLifetime) {
      process.stdin.on('end', () => void stop());
      process.stdin.on('close', () => void stop());
      process.stdin.resume();
    }
    report({ socketPath: vm.socketPath, info: vm.info });
    const reason = await vm.gone;
    if (!stopping) {
      process.stderr.write(`test/vm/serve: the VM is gone: ${reason}\n${vm.consoleTail(30)}\n`);
      await vm.stop({ graceful: false });
      process.exit(1);
    }
  } catch (err) {
    const reason = err instanceof VmUnavailableError ? err.reason : (err as Error).message.split('\n')[0];
    report({ error: (err as Error).message, reason });
    process.exit(1);
  }
}

await main();

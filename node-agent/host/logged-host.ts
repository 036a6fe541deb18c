import type { Logger } from '../../common/logger.js';
import { isLvmShellRun, lvmShellCommands, parseLvmShellOutput } from '../lvm/shell.js';
import {
  CommandError,
  formatArgv,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
  type WriteFileOptions,
} from './host.js';

const LVM_REPORTS = new Set([
  'fullreport',
  'lastlog',
  'pvs',
  'vgs',
  'lvs',
  'version',
  'lvmconfig',
  'config',
  'dumpconfig',
]);
const READ_ONLY_PROGRAMS = new Set([
  'pvs',
  'vgs',
  'lvs',
  'pvdisplay',
  'vgdisplay',
  'lvdisplay',
  'lvmconfig',
  'lsblk',
  'blkid',
  'findmnt',
  'realpath',
  'readlink',
  'stat',
  'cat',
  'uname',
  'pidof',
  'pgrep',
  'test',
  'true',
]);
const WIPEFS_WRITES = new Set(['-a', '--all', '-o', '--offset', '-f', '--force', '-b', '--backup']);
const DMSETUP_READS = new Set(['status', 'table', 'ls', 'info', 'version', 'targets', 'deps', 'wait']);
/** Options of a `losetup` that only lists (`--list`, `-j FILE`, `-O COLUMNS`); anything else changes loops. */
const LOSETUP_LISTING = new Set([
  '--list',
  '-l',
  '--json',
  '-J',
  '--noheadings',
  '-n',
  '--all',
  '-a',
  '--raw',
  '--output-all',
]);
const LOSETUP_LISTING_WITH_VALUE = new Set(['-j', '--associated', '-O', '--output']);
const DOCKER_READS = new Set(['info', 'version', 'inspect', 'ps', 'images']);
const SYSTEMCTL_READS = new Set(['is-active', 'is-enabled', 'is-failed', 'status', 'show', 'cat']);

function losetupOnlyLists(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (LOSETUP_LISTING_WITH_VALUE.has(arg)) i++;
    else if (!LOSETUP_LISTING.has(arg) && !/^--(output|associated)=/.test(arg)) return false;
  }
  return true;
}

/**
 * True unless the run only reads state: for an lvm shell run (several LVM commands on the stdin of one `lvm`),
 * when one of its commands is mutating; otherwise {@link isMutatingCommand}. Pure.
 */
export function isMutatingRun(argv: readonly string[], options?: RunOptions): boolean {
  if (isLvmShellRun(argv, options?.input)) return lvmShellCommands(options.input).some(isMutatingCommand);
  return isMutatingCommand(argv);
}

/**
 * True unless `argv` is known to only read state. Unknown commands count as mutating, so they are always
 * logged and a "nothing to do" run can be checked by counting them. Pure.
 */
export function isMutatingCommand(argv: readonly string[]): boolean {
  const program = (argv[0] ?? '').split('/').pop() ?? '';
  const args = argv.slice(1);
  if (READ_ONLY_PROGRAMS.has(program)) return false;
  switch (program) {
    case 'lvm':
      return !LVM_REPORTS.has(args[0] ?? '');
    case 'wipefs':
      return !args.some((a) => a === '-n' || a === '--no-act') && args.some((a) => WIPEFS_WRITES.has(a));
    case 'dmsetup':
      return !DMSETUP_READS.has(args[0] ?? '');
    case 'losetup':
      return !losetupOnlyLists(args);
    case 'docker':
      return !DOCKER_READS.has(args[0] ?? '');
    case 'ctr': {
      // Global options (`--address PATH`) come first: find the object and its verb.
      const object = args.findIndex((a) => a === 'plugins' || a === 'plugin');
      if (object >= 0) return !['ls', 'list'].includes(args[object + 1] ?? '');
      return args.at(-1) !== 'version';
    }
    case 'systemctl':
      return !SYSTEMCTL_READS.has(args[0] ?? '');
    default:
      return true;
  }
}

/**
 * Wraps a `Host` so that every mutating command and every file write is logged (JSON, winston) before it
 * runs and after it finished or failed. Read-only commands are logged at debug level only.
 */
export class LoggedHost implements Host {
  readonly kind: string;

  constructor(
    private readonly inner: Host,
    private readonly log: Logger,
  ) {
    this.kind = inner.kind;
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (isLvmShellRun(argv, options?.input)) return this.runLvmShell(argv, options!.input!, options!);
    const mutating = isMutatingCommand(argv);
    const command = formatArgv(argv);
    if (mutating) this.log.info('Started host command', { command, host: this.kind });
    try {
      const result = await this.inner.run(argv, options);
      const fields = { command, exitCode: result.exitCode, durationMs: Math.round(result.durationMs) };
      if (mutating) this.log.info('Completed host command', fields);
      else this.log.debug('Completed host command', fields);
      return result;
    } catch (err) {
      const fields =
        err instanceof CommandError
          ? { command, exitCode: err.exitCode, reason: err.reason, stderr: err.stderr.trim() }
          : { command, err: String(err) };
      if (mutating) this.log.error('Failed host command', fields);
      else this.log.debug('Failed host command', fields);
      throw err;
    }
  }

  /**
   * An lvm shell run (several LVM commands in one `lvm` process) is logged per command, as if each ran on
   * its own: every mutating command before and after, with its own exit code and messages.
   */
  private async runLvmShell(argv: readonly string[], input: string, options: RunOptions): Promise<RunResult> {
    const commands = lvmShellCommands(input).map((c) => ({ argv: c, mutating: isMutatingCommand(c) }));
    const host = this.kind;
    for (const c of commands)
      if (c.mutating)
        this.log.info('Started host command', { command: formatArgv(c.argv), host, via: 'lvm shell' });
    let result: RunResult;
    try {
      result = await this.inner.run(argv, options);
    } catch (err) {
      const fields =
        err instanceof CommandError
          ? { exitCode: err.exitCode, reason: err.reason, stderr: err.stderr.trim() }
          : { err: String(err) };
      for (const c of commands) {
        const entry = { command: formatArgv(c.argv), via: 'lvm shell', ...fields };
        if (c.mutating) this.log.error('Failed host command', entry);
        else this.log.debug('Failed host command', entry);
      }
      throw err;
    }
    const answers = parseLvmShellOutput(
      result.stdout,
      commands.map((c) => c.argv),
    );
    const durationMs = Math.round(result.durationMs);
    commands.forEach((c, i) => {
      const answer = answers[i];
      const command = formatArgv(c.argv);
      const fields = answer
        ? { command, exitCode: answer.exitCode, durationMs, via: 'lvm shell' }
        : { command, reason: 'no answer from the lvm shell', stderr: result.stderr.trim(), via: 'lvm shell' };
      if (!c.mutating)
        this.log.debug(answer?.exitCode === 0 ? 'Completed host command' : 'Failed host command', fields);
      else if (answer?.exitCode === 0) this.log.info('Completed host command', fields);
      else
        this.log.error('Failed host command', {
          ...fields,
          stderr: answer?.messages.join('\n') ?? result.stderr.trim(),
        });
    });
    return result;
  }

  readFile(path: string): Promise<string | undefined> {
    return this.inner.readFile(path);
  }

  async writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    this.log.info('Started host file write', { path, bytes: Buffer.byteLength(content) });
    try {
      await this.inner.writeFile(path, content, options);
      this.log.info('Wrote host file', { path });
    } catch (err) {
      this.log.error('Failed host file write', { path, err: String(err) });
      throw err;
    }
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
}

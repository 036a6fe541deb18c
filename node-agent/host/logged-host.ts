import type { Logger } from '../../common/logger.js';
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
  'true',
]);
const WIPEFS_WRITES = new Set(['-a', '--all', '-o', '--offset', '-f', '--force']);
const DMSETUP_READS = new Set(['status', 'table', 'ls', 'info', 'version', 'targets', 'deps']);

/**
 * True unless `argv` is known to only read state. Unknown commands count as mutating, so they are always
 * logged and a "nothing to do" run can be checked by counting them.
 */
export function isMutatingCommand(argv: readonly string[]): boolean {
  const program = (argv[0] ?? '').split('/').pop() ?? '';
  const args = argv.slice(1);
  if (READ_ONLY_PROGRAMS.has(program)) return false;
  if (program === 'lvm') return !LVM_REPORTS.has(args[0] ?? '');
  if (program === 'wipefs') return args.some((a) => WIPEFS_WRITES.has(a));
  if (program === 'dmsetup') return !DMSETUP_READS.has(args[0] ?? '');
  if (program === 'losetup') {
    const listing = args.every((a) => ['--list', '-l', '--json', '-J', '--noheadings', '-n'].includes(a));
    return !listing;
  }
  return true;
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

/**
 * Pure parts of the VM harness: size and disk-spec parsing, the shares, the kernel command line, the
 * qemu and virtiofsd argument arrays, and the one-shot runner's command line. Tested in options.test.ts.
 */
import path from 'node:path';

/** A virtio disk to attach: a sparse host file, `/dev/vdX` and `/dev/disk/by-id/virtio-<name>` in the guest. */
export interface DiskSpec {
  /** The qemu serial: letters, digits, `.`, `_`, `-`; at most 20 characters (virtio-blk's limit). */
  name: string;
  sizeBytes: number;
}

/** A host directory shared into the guest at the same path. */
export interface ShareSpec {
  /** The virtiofs tag. */
  tag: string;
  hostDir: string;
  readOnly: boolean;
}

/** Thrown for bad harness options; the message says what is wrong and what is accepted. */
export class VmOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VmOptionError';
  }
}

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
const MIN_DISK_BYTES = 16 * 2 ** 20;
const MAX_DISK_BYTES = 2 ** 40;
const DISK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/;
/** Characters that survive the kernel command line and qemu's comma-separated options unquoted. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+@-]*$/;

/** Parses a size such as `4G`, `512M` or `1073741824` (binary units K, M, G, T) into bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+)([KMGT]?)$/.exec(text.trim());
  if (!match)
    throw new VmOptionError(`Invalid size '${text}': expected a number with an optional K, M, G or T`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** Parses `NAME:SIZE` (for example `disk1:2G`) into a {@link DiskSpec}. */
export function parseDiskSpec(text: string): DiskSpec {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new VmOptionError(`Invalid disk '${text}': expected NAME:SIZE, for example disk1:2G`);
  const disk = { name: text.slice(0, colon), sizeBytes: parseSize(text.slice(colon + 1)) };
  validateDisks([disk]);
  return disk;
}

/** Checks disk names (qemu serial rules, unique) and sizes (16 MiB to 1 TiB, whole 512-byte sectors). */
export function validateDisks(disks: readonly DiskSpec[]): void {
  const seen = new Set<string>();
  for (const disk of disks) {
    if (!DISK_NAME.test(disk.name)) {
      throw new VmOptionError(
        `Invalid disk name '${disk.name}': use 1-20 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      );
    }
    if (seen.has(disk.name)) throw new VmOptionError(`Duplicate disk name '${disk.name}'`);
    seen.add(disk.name);
    if (disk.sizeBytes < MIN_DISK_BYTES || disk.sizeBytes > MAX_DISK_BYTES || disk.sizeBytes % 512 !== 0) {
      throw new VmOptionError(
        `Invalid size for disk '${disk.name}': ${disk.sizeBytes} bytes (16M to 1T, a multiple of 512)`,
      );
    }
  }
}

/** Parses guest memory (`4G`, `3072M`) into MiB; 256 MiB to 64 GiB. */
export function parseMemoryMiB(text: string): number {
  const match = /^(\d+)([MG])$/.exec(text.trim());
  if (!match) throw new VmOptionError(`Invalid memory '${text}': expected a size in M or G, for example 4G`);
  const mib = Number(match[1]) * (match[2] === 'G' ? 1024 : 1);
  if (mib < 256 || mib > 65536) throw new VmOptionError(`Invalid memory '${text}': 256M to 64G`);
  return mib;
}

/** Checks a guest CPU count (1 to 16), given as a number or as command-line text. */
export function validateCpus(cpus: number | string): number {
  const count = typeof cpus === 'string' && /^\d+$/.test(cpus) ? Number(cpus) : cpus;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 16) {
    throw new VmOptionError(`Invalid CPU count '${cpus}': a whole number from 1 to 16`);
  }
  return count;
}

/** Checks that a host path can be passed on the kernel command line and in qemu options. */
export function validateHostPath(what: string, hostPath: string): string {
  if (!SAFE_PATH.test(hostPath) || hostPath.split('/').includes('..')) {
    throw new VmOptionError(
      `${what} '${hostPath}' must be an absolute path of letters, digits and . _ / + @ - only (it goes on the kernel command line)`,
    );
  }
  return hostPath;
}

/** True when `dir` is `parent` or inside it. */
export function isInside(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * The shares of a VM: the host root read-only (the guest's lower layer), then the repo and every extra
 * directory read-write, leaving out directories already inside another read-write share.
 */
export function planShares(repoDir: string, readWriteDirs: readonly string[]): ShareSpec[] {
  const shares: ShareSpec[] = [{ tag: 'hostroot', hostDir: '/', readOnly: true }];
  const writable: string[] = [];
  for (const dir of [repoDir, ...readWriteDirs].map((d) => path.resolve(d))) {
    validateHostPath('Shared directory', dir);
    if (dir === '/') throw new VmOptionError('The host root cannot be shared read-write');
    if (writable.some((w) => isInside(dir, w))) continue;
    writable.push(dir);
    shares.push({ tag: `rw${writable.length - 1}`, hostDir: dir, readOnly: false });
  }
  return shares;
}

/** Everything the guest init needs, passed on the kernel command line. */
export interface KernelCommandLineOptions {
  modulesDir: string;
  shares: readonly ShareSpec[];
  /** Modules loaded before the agent starts. */
  modules: readonly string[];
  nodePath: string;
  agentPath: string;
  cwd: string;
  scratchDir: string;
  verbose: boolean;
}

/** Builds the kernel command line read by test/vm/guest-init.sh (`thinpool.KEY=VALUE`). */
export function kernelCommandLine(options: KernelCommandLineOptions): string {
  const rw = options.shares.filter((s) => !s.readOnly).map((s) => `${s.tag}:${s.hostDir}`);
  const params = [
    'console=ttyS0',
    ...(options.verbose ? [] : ['quiet']),
    'panic=-1',
    'rdinit=/init',
    'random.trust_cpu=on',
    'mitigations=off',
    'tsc=reliable',
    `thinpool.moddir=${validateHostPath('Module directory', options.modulesDir)}`,
    `thinpool.modules=${options.modules.join(',')}`,
    `thinpool.node=${validateHostPath('Node binary', options.nodePath)}`,
    `thinpool.agent=${validateHostPath('Guest agent', options.agentPath)}`,
    `thinpool.cwd=${validateHostPath('Working directory', options.cwd)}`,
    `thinpool.scratch=${validateHostPath('Scratch directory', options.scratchDir)}`,
    `thinpool.verbose=${options.verbose ? 1 : 0}`,
  ];
  if (rw.length > 0) params.push(`thinpool.rw=${rw.join(',')}`);
  const line = params.join(' ');
  if (line.length > 2000)
    throw new VmOptionError(`The kernel command line is too long (${line.length} characters)`);
  return line;
}

/** Files and sockets of one VM, all inside its work dir. */
export interface MachineFiles {
  kernel: string;
  initrd: string;
  consoleLog: string;
  agentSocket: string;
  fsSocket: (share: ShareSpec) => string;
  diskImage: (disk: DiskSpec) => string;
}

/** What {@link qemuArgs} needs. */
export interface QemuOptions {
  memoryMiB: number;
  cpus: number;
  accel: 'tcg' | 'kvm';
  disks: readonly DiskSpec[];
  shares: readonly ShareSpec[];
  files: MachineFiles;
  commandLine: string;
}

/** The guest agent's virtio-serial port name (the init looks it up in /sys/class/virtio-ports). */
export const AGENT_PORT_NAME = 'thinpool.agent';

/** The qemu-system-x86_64 arguments: no NIC, no display, console to a file, virtiofs shares, virtio disks. */
export function qemuArgs(options: QemuOptions): string[] {
  const { files } = options;
  const accel =
    options.accel === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  const args = [
    ...accel,
    ...['-smp', String(options.cpus), '-m', `${options.memoryMiB}M`],
    ...[
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-vga',
      'none',
      '-no-reboot',
      '-monitor',
      'none',
    ],
    ...['-serial', `file:${files.consoleLog}`],
    ...['-kernel', files.kernel, '-initrd', files.initrd, '-append', options.commandLine],
    // virtiofs needs guest RAM the virtiofsd processes can map.
    ...[
      '-object',
      `memory-backend-memfd,id=mem,size=${options.memoryMiB}M,share=on`,
      '-numa',
      'node,memdev=mem',
    ],
  ];
  options.shares.forEach((share, i) => {
    args.push('-chardev', `socket,id=fs${i},path=${files.fsSocket(share)}`);
    args.push('-device', `vhost-user-fs-pci,chardev=fs${i},tag=${share.tag}`);
  });
  args.push('-device', 'virtio-serial-pci,id=vser');
  args.push('-chardev', `socket,id=agent,path=${files.agentSocket}`);
  args.push('-device', `virtserialport,bus=vser.0,chardev=agent,name=${AGENT_PORT_NAME}`);
  options.disks.forEach((disk, i) => {
    args.push(
      '-drive',
      `file=${files.diskImage(disk)},format=raw,if=none,id=disk${i},cache=unsafe,discard=unmap`,
    );
    args.push('-device', `virtio-blk-pci,drive=disk${i},serial=${disk.name}`);
  });
  args.push('-device', 'virtio-rng-pci');
  return args;
}

/** The two virtiofsd implementations: qemu 7.2's C one (Debian 12) and the Rust one (Debian 13, Ubuntu). */
export type VirtiofsdFlavor = 'c' | 'rust';

/** virtiofsd arguments for one share; read-only is enforced by the caller's mount namespace. */
export function virtiofsdArgs(flavor: VirtiofsdFlavor, socketPath: string, share: ShareSpec): string[] {
  // cache=always makes LVM commands 2-4x faster on the read-only root; writable shares must stay coherent.
  const cache = share.readOnly ? 'always' : 'auto';
  if (flavor === 'rust') {
    return [
      `--socket-path=${socketPath}`,
      `--shared-dir=${share.hostDir}`,
      `--cache=${cache}`,
      '--sandbox=chroot',
      ...(share.readOnly ? ['--readonly'] : []),
    ];
  }
  return [
    `--socket-path=${socketPath}`,
    '-o',
    `source=${share.hostDir}`,
    '-o',
    `cache=${cache}`,
    '-o',
    'sandbox=chroot',
    '-o',
    'log_level=err',
  ];
}

/** Options of the one-shot runner, `test/vm/run`. */
export interface RunCliOptions {
  disks: DiskSpec[];
  memoryMiB: number;
  cpus: number;
  timeoutSec: number;
  shares: string[];
  /** Names of host environment variables passed to the command. */
  env: string[];
  verbose: boolean;
  command: string[];
}

/** The usage text of `test/vm/run`. */
export const RUN_USAGE = `Usage: test/vm/run [options] -- CMD [ARG...]
Runs CMD (an argument array, no shell) in a fresh VM at the repo root and exits with its exit code
(124: timed out, 125: the guest died or the VM could not start, 128+N: killed by signal N).
  --disk NAME:SIZE   attach a sparse virtio disk (/dev/vdX, /dev/disk/by-id/virtio-NAME); repeatable
  --memory SIZE      guest memory (default 4G, or THINPOOL_VM_MEMORY)
  --cpus N           guest CPUs (default 2)
  --timeout S        kill the VM after S seconds, boot included (default 1800)
  --share DIR        share a host directory read-write at the same path; repeatable
  --env NAME         pass the host environment variable NAME to the command; repeatable
  --verbose          kernel messages in the console log, printed when the guest dies`;

/** Parses the one-shot runner's arguments; throws {@link VmOptionError} with the reason. */
export function parseRunArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): RunCliOptions {
  const options: RunCliOptions = {
    disks: [],
    memoryMiB: parseMemoryMiB(env.THINPOOL_VM_MEMORY ?? '4G'),
    cpus: 2,
    timeoutSec: 1800,
    shares: [],
    env: [],
    verbose: false,
    command: [],
  };
  let i = 0;
  const value = (flag: string): string => {
    const next = argv[++i];
    if (next === undefined) throw new VmOptionError(`${flag} needs a value`);
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      options.command = argv.slice(i + 1);
      break;
    }
    switch (arg) {
      case '--disk':
        options.disks.push(parseDiskSpec(value(arg)));
        break;
      case '--memory':
        options.memoryMiB = parseMemoryMiB(value(arg));
        break;
      case '--cpus':
        options.cpus = validateCpus(value(arg));
        break;
      case '--timeout': {
        const text = value(arg);
        options.timeoutSec = Number(text);
        if (!/^\d+$/.test(text) || options.timeoutSec < 1) {
          throw new VmOptionError(`Invalid timeout '${text}': a whole number of seconds`);
        }
        break;
      }
      case '--share':
        options.shares.push(path.resolve(value(arg)));
        break;
      case '--env': {
        const name = value(arg);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
          throw new VmOptionError(`Invalid environment variable name '${name}'`);
        options.env.push(name);
        break;
      }
      case '--verbose':
        options.verbose = true;
        break;
      default:
        throw new VmOptionError(`Unknown option '${arg}' (the command goes after --)`);
    }
  }
  validateDisks(options.disks);
  if (options.command.length === 0) throw new VmOptionError('No command: give it after --');
  return options;
}

/** Names of the Linux signals, by number, for exit codes 128+N. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** The exit code a shell would report: the code, 128+N for signal N, 127 when the program is missing. */
export function shellExitCode(result: {
  exitCode: number | null;
  signal: string | null;
  reason?: string;
}): number {
  if (result.reason === 'not found') return 127;
  if (result.exitCode !== null) return result.exitCode;
  if (result.signal) return 128 + (SIGNAL_NUMBERS[result.signal] ?? 0);
  return 125;
}

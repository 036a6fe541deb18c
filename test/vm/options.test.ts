import { describe, expect, it } from '@jest/globals';
import { parseManifest } from './image.js';
import {
  kernelCommandLine,
  parseDiskSpec,
  parseMemoryMiB,
  parseRunArgs,
  parseSize,
  planShares,
  qemuArgs,
  shellExitCode,
  validateDisks,
  virtiofsdArgs,
  VmOptionError,
  type MachineFiles,
  type ShareSpec,
} from './options.js';

const GiB = 2 ** 30;

describe('sizes and disks', () => {
  it('parses sizes in binary units', () => {
    expect(parseSize('4G')).toBe(4 * GiB);
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('1T')).toBe(2 ** 40);
    expect(parseSize('1048576')).toBe(2 ** 20);
  });

  it('refuses sizes it cannot read', () => {
    for (const bad of ['', '4GB', '-1G', '1.5G', 'G']) expect(() => parseSize(bad)).toThrow(VmOptionError);
  });

  it('parses NAME:SIZE disks', () => {
    expect(parseDiskSpec('disk1:2G')).toEqual({ name: 'disk1', sizeBytes: 2 * GiB });
  });

  it('refuses names qemu or udev could not carry, duplicates and odd sizes', () => {
    expect(() => parseDiskSpec('2G')).toThrow('expected NAME:SIZE');
    expect(() => parseDiskSpec('a,b:1G')).toThrow("Invalid disk name 'a,b'");
    expect(() => parseDiskSpec('x'.repeat(21) + ':1G')).toThrow('Invalid disk name');
    expect(() => parseDiskSpec('-x:1G')).toThrow('Invalid disk name');
    expect(() => parseDiskSpec('tiny:1M')).toThrow("Invalid size for disk 'tiny'");
    expect(() =>
      validateDisks([
        { name: 'd', sizeBytes: GiB },
        { name: 'd', sizeBytes: GiB },
      ]),
    ).toThrow("Duplicate disk name 'd'");
    expect(() => validateDisks([{ name: 'odd', sizeBytes: GiB + 1 }])).toThrow('a multiple of 512');
  });

  it('parses guest memory into MiB within bounds', () => {
    expect(parseMemoryMiB('4G')).toBe(4096);
    expect(parseMemoryMiB('768M')).toBe(768);
    expect(() => parseMemoryMiB('128M')).toThrow('256M to 64G');
    expect(() => parseMemoryMiB('4')).toThrow('expected a size in M or G');
  });
});

describe('shares', () => {
  it('shares the host root read-only, then the repo and extra directories read-write', () => {
    expect(planShares('/home/dev/repo', ['/srv/results'])).toEqual([
      { tag: 'hostroot', hostDir: '/', readOnly: true },
      { tag: 'rw0', hostDir: '/home/dev/repo', readOnly: false },
      { tag: 'rw1', hostDir: '/srv/results', readOnly: false },
    ]);
  });

  it('leaves out directories inside another read-write share', () => {
    expect(
      planShares('/home/dev/repo', ['/home/dev/repo/test-results', '/home/dev/repo']).map((s) => s.hostDir),
    ).toEqual(['/', '/home/dev/repo']);
  });

  it('refuses paths the kernel command line cannot carry and the host root', () => {
    expect(() => planShares('/home/dev/my repo', [])).toThrow(
      "Shared directory '/home/dev/my repo' must be an absolute path",
    );
    expect(() => planShares('/home/dev/repo', ['/'])).toThrow('The host root cannot be shared read-write');
  });
});

const files: MachineFiles = {
  kernel: '/cache/vmlinuz',
  initrd: '/cache/initrd.cpio',
  consoleLog: '/tmp/vm/console.log',
  agentSocket: '/tmp/vm/agent.sock',
  fsSocket: (share) => `/tmp/vm/fs-${share.tag}.sock`,
  diskImage: (disk) => `/tmp/vm/disk-${disk.name}.img`,
};
const shares: ShareSpec[] = planShares('/home/dev/repo', []);

describe('the kernel command line', () => {
  const options = {
    modulesDir: '/cache/lib/modules/6.1.0-56-cloud-amd64',
    shares,
    modules: ['loop', 'dm_mod'],
    nodePath: '/usr/bin/node',
    agentPath: '/home/dev/repo/test/vm/guest-agent.mjs',
    cwd: '/home/dev/repo',
    scratchDir: '/scratch',
    verbose: false,
  };

  it('carries the init parameters as thinpool.KEY=VALUE words', () => {
    const words = kernelCommandLine(options).split(' ');
    expect(words).toEqual(
      expect.arrayContaining([
        'console=ttyS0',
        'quiet',
        'panic=-1',
        'thinpool.moddir=/cache/lib/modules/6.1.0-56-cloud-amd64',
        'thinpool.modules=loop,dm_mod',
        'thinpool.node=/usr/bin/node',
        'thinpool.agent=/home/dev/repo/test/vm/guest-agent.mjs',
        'thinpool.cwd=/home/dev/repo',
        'thinpool.scratch=/scratch',
        'thinpool.rw=rw0:/home/dev/repo',
      ]),
    );
  });

  it('drops quiet when verbose', () => {
    expect(kernelCommandLine({ ...options, verbose: true }).split(' ')).not.toContain('quiet');
  });

  it('refuses a path with a space', () => {
    expect(() => kernelCommandLine({ ...options, nodePath: '/opt/my node/bin/node' })).toThrow(VmOptionError);
  });
});

describe('qemu arguments', () => {
  const args = qemuArgs({
    memoryMiB: 4096,
    cpus: 2,
    accel: 'tcg',
    disks: [
      { name: 'disk1', sizeBytes: GiB },
      { name: 'disk2', sizeBytes: GiB },
    ],
    shares,
    files,
    commandLine: 'console=ttyS0',
  });
  const values = (flag: string): string[] => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));

  it('emulates with TCG, no NIC and no display, the console in a file', () => {
    expect(args.slice(0, 4)).toEqual(['-accel', 'tcg,thread=multi', '-cpu', 'max']);
    expect(args).toEqual(expect.arrayContaining(['-nodefaults', '-no-reboot', '-display', 'none']));
    expect(args.join(' ')).not.toMatch(/-net|-nic|virtio-net/);
    expect(values('-serial')).toEqual(['file:/tmp/vm/console.log']);
  });

  it('backs guest RAM with shared memory for virtiofs and adds one vhost-user-fs device per share', () => {
    expect(values('-object')).toEqual(['memory-backend-memfd,id=mem,size=4096M,share=on']);
    expect(values('-device')).toEqual(
      expect.arrayContaining([
        'vhost-user-fs-pci,chardev=fs0,tag=hostroot',
        'vhost-user-fs-pci,chardev=fs1,tag=rw0',
      ]),
    );
  });

  it('attaches each disk with its name as the serial, and the agent port', () => {
    expect(values('-drive')).toEqual([
      'file=/tmp/vm/disk-disk1.img,format=raw,if=none,id=disk0,cache=unsafe,discard=unmap',
      'file=/tmp/vm/disk-disk2.img,format=raw,if=none,id=disk1,cache=unsafe,discard=unmap',
    ]);
    expect(values('-device')).toEqual(
      expect.arrayContaining([
        'virtio-blk-pci,drive=disk0,serial=disk1',
        'virtio-blk-pci,drive=disk1,serial=disk2',
        'virtserialport,bus=vser.0,chardev=agent,name=thinpool.agent',
      ]),
    );
    expect(values('-chardev')).toContain('socket,id=agent,path=/tmp/vm/agent.sock');
  });
});

describe('virtiofsd arguments', () => {
  it('caches the read-only root always and writable shares coherently (C virtiofsd)', () => {
    expect(virtiofsdArgs('c', '/s.sock', shares[0]!)).toEqual([
      '--socket-path=/s.sock',
      '-o',
      'source=/',
      '-o',
      'cache=always',
      '-o',
      'sandbox=chroot',
      '-o',
      'log_level=err',
    ]);
    expect(virtiofsdArgs('c', '/s.sock', shares[1]!)).toContain('cache=auto');
  });

  it('speaks the Rust virtiofsd options', () => {
    expect(virtiofsdArgs('rust', '/s.sock', shares[0]!)).toEqual([
      '--socket-path=/s.sock',
      '--shared-dir=/',
      '--cache=always',
      '--sandbox=chroot',
      '--readonly',
    ]);
  });
});

describe('the one-shot runner arguments', () => {
  it('reads options up to -- and the command after it', () => {
    expect(
      parseRunArgs(
        [
          '--disk',
          'a:1G',
          '--disk',
          'b:2G',
          '--memory',
          '2G',
          '--cpus',
          '1',
          '--timeout',
          '30',
          '--',
          'lvs',
          '-a',
        ],
        {},
      ),
    ).toEqual({
      disks: [
        { name: 'a', sizeBytes: GiB },
        { name: 'b', sizeBytes: 2 * GiB },
      ],
      memoryMiB: 2048,
      cpus: 1,
      timeoutSec: 30,
      shares: [],
      env: [],
      verbose: false,
      command: ['lvs', '-a'],
    });
  });

  it('takes the memory default from THINPOOL_VM_MEMORY and keeps options after -- in the command', () => {
    const options = parseRunArgs(['--', 'echo', '--disk'], { THINPOOL_VM_MEMORY: '3G' });
    expect(options).toMatchObject({ memoryMiB: 3072, command: ['echo', '--disk'] });
  });

  it('explains what is wrong', () => {
    expect(() => parseRunArgs(['true'])).toThrow("Unknown option 'true' (the command goes after --)");
    expect(() => parseRunArgs(['--'])).toThrow('No command: give it after --');
    expect(() => parseRunArgs(['--timeout', '0', '--', 'x'])).toThrow("Invalid timeout '0'");
    expect(() => parseRunArgs(['--cpus', 'two', '--', 'x'])).toThrow("Invalid CPU count 'two'");
    expect(() => parseRunArgs(['--env', 'A-B', '--', 'x'])).toThrow(
      "Invalid environment variable name 'A-B'",
    );
    expect(() => parseRunArgs(['--disk'])).toThrow('--disk needs a value');
    expect(() => parseRunArgs(['--disk', 'a:1G', '--disk', 'a:2G', '--', 'x'])).toThrow(
      "Duplicate disk name 'a'",
    );
  });
});

describe('exit codes', () => {
  it('maps a result to what a shell would report', () => {
    expect(shellExitCode({ exitCode: 3, signal: null })).toBe(3);
    expect(shellExitCode({ exitCode: null, signal: 'SIGKILL' })).toBe(137);
    expect(shellExitCode({ exitCode: null, signal: 'SIGTERM', reason: 'timeout' })).toBe(143);
    expect(shellExitCode({ exitCode: null, signal: null, reason: 'not found' })).toBe(127);
  });
});

describe('the setup manifest', () => {
  it('reads the KEY=VALUE lines of test/vm/setup --print-env', () => {
    const manifest = parseManifest(
      'KERNEL_VERSION=6.1.0-56-cloud-amd64\nKERNEL=/c/vmlinuz\nINITRD=/c/initrd.cpio\nMODULES_DIR=/c/lib/modules/6.1.0-56-cloud-amd64\n',
    );
    expect(manifest).toEqual({
      kernelVersion: '6.1.0-56-cloud-amd64',
      kernel: '/c/vmlinuz',
      initrd: '/c/initrd.cpio',
      modulesDir: '/c/lib/modules/6.1.0-56-cloud-amd64',
    });
    expect(() => parseManifest('KERNEL=/c/vmlinuz\n')).toThrow('test/vm/setup printed no KERNEL_VERSION');
  });
});

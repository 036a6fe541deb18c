/**
 * The persistent test VM: `startVm()` boots one guest and returns a `GuestVm` (the node agent's `Host`
 * port, plus disks and reset()) that also owns the VM. Other processes reach the same guest through the
 * broker socket: `connectVm(vm.socketPath)`. See test/vm/README.md.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Broker } from './broker.js';
import { GuestVm, connectVm } from './guest-host.js';
import { REPO_DIR, prepareImage, VmUnavailableError } from './image.js';
import { Machine } from './machine.js';
import { parseDiskSpec, parseMemoryMiB, validateCpus, validateDisks, type DiskSpec } from './options.js';
import type { VmDisk, VmInfo } from './protocol.js';

export { GuestVm, connectVm, VmUnavailableError };
export type { VmDisk, VmInfo };

/**
 * The disks of the VM that the jest `vm` project boots (sparse host files: they cost host disk only for
 * what tests write, and reset() discards it). Sizes differ so tests can tell them apart.
 */
export const STANDARD_DISKS: readonly DiskSpec[] = [
  { name: 'disk1', sizeBytes: 4 * 2 ** 30 },
  { name: 'disk2', sizeBytes: 2 * 2 ** 30 },
  { name: 'disk3', sizeBytes: 2 * 2 ** 30 },
  { name: 'disk4', sizeBytes: 1 * 2 ** 30 },
];

/** Options of {@link startVm}. */
export interface StartVmOptions {
  /** Virtio disks: `{ name, sizeBytes }` or `'NAME:SIZE'` strings such as `'disk1:2G'`. */
  disks?: readonly (DiskSpec | string)[];
  /** Guest memory, for example `'4G'` (default: `THINPOOL_VM_MEMORY`, else 4G). */
  memory?: string;
  /** Guest CPUs (default 2). */
  cpus?: number;
  /** Shared read-write at the same path; created when missing (default: `THINPOOL_VM_RESULTS`, else `test-results/`). */
  resultsDir?: string;
  /** More host directories shared read-write at the same path. */
  shares?: readonly string[];
  /** Where the broker listens (default: `broker.sock` in the VM's work dir). */
  socketPath?: string;
  /** Guest directory that reset() empties (default `/scratch`, in guest RAM). */
  scratchDir?: string;
  /** Kernel messages in the console log (default: `THINPOOL_VM_VERBOSE=1`). */
  verbose?: boolean;
  /** Give up on a boot that takes longer (default 180 s). */
  bootTimeoutMs?: number;
  /** Abort the boot: the VM is killed and startVm() rejects. */
  signal?: AbortSignal;
}

/** A VM started by this process: a `GuestVm` that can also stop it. */
export class OwnedVm extends GuestVm {
  /** The broker's unix socket: pass it to other processes (`THINPOOL_VM_SOCKET`). */
  socketPath!: string;
  private machine!: Machine;
  private broker!: Broker;

  /** Boots the VM; see {@link startVm}. */
  static async start(options: StartVmOptions = {}): Promise<OwnedVm> {
    const disks = (options.disks ?? []).map((d) => (typeof d === 'string' ? parseDiskSpec(d) : d));
    validateDisks(disks);
    const memoryMiB = parseMemoryMiB(options.memory ?? process.env.THINPOOL_VM_MEMORY ?? '4G');
    const cpus = validateCpus(options.cpus ?? 2);
    const resultsDir = path.resolve(
      options.resultsDir ?? process.env.THINPOOL_VM_RESULTS ?? path.join(REPO_DIR, 'test-results'),
    );
    fs.mkdirSync(resultsDir, { recursive: true });
    const scratchDir = options.scratchDir ?? '/scratch';
    const image = await prepareImage();
    const machine = await Machine.boot({
      image,
      disks,
      memoryMiB,
      cpus,
      readWriteDirs: [resultsDir, ...(options.shares ?? [])],
      scratchDir,
      verbose: options.verbose ?? process.env.THINPOOL_VM_VERBOSE === '1',
      bootTimeoutMs: options.bootTimeoutMs,
      signal: options.signal,
    });
    try {
      const info: VmInfo = {
        kernel: machine.ready.kernel,
        disks: disks.map((disk) => guestDisk(disk, machine)),
        repoDir: REPO_DIR,
        resultsDir,
        scratchDir,
        bootMs: machine.bootMs,
        guestUptimeAtReadyMs: Math.round(machine.ready.uptimeSec * 1000),
      };
      const broker = new Broker(machine, info);
      const socketPath = options.socketPath ?? path.join(machine.workDir, 'broker.sock');
      await broker.listen(socketPath);
      const vm = new OwnedVm(await GuestVm.openSocket(socketPath));
      await vm.loadInfo();
      vm.socketPath = socketPath;
      vm.machine = machine;
      vm.broker = broker;
      return vm;
    } catch (err) {
      await machine.stop({ graceful: false });
      throw err;
    }
  }

  protected constructor(socket: net.Socket) {
    super(socket);
  }

  /** Resolves with a one-line reason when the guest is gone (crashed, powered off, stopped). */
  get gone(): Promise<string> {
    return this.machine.gone;
  }

  /** The last lines of the guest console: kernel messages and the init's and agent's errors. */
  consoleTail(lines = 40): string {
    return this.machine.consoleTail(lines);
  }

  /** Powers the guest off, stops qemu and virtiofsd, and removes the work dir (disk files, sockets). */
  async stop({ graceful = true }: { graceful?: boolean } = {}): Promise<void> {
    await this.close();
    await this.machine.stop({ graceful });
    await this.broker.close();
  }
}

function guestDisk(disk: DiskSpec, machine: Machine): VmDisk {
  const seen = machine.ready.disks.find((d) => d.serial === disk.name);
  if (!seen) {
    throw new VmUnavailableError(
      `disk '${disk.name}' is missing in the guest (it saw ${JSON.stringify(machine.ready.disks)})`,
    );
  }
  return {
    name: disk.name,
    sizeBytes: seen.sizeBytes,
    devicePath: seen.devicePath,
    byIdPath: `/dev/disk/by-id/virtio-${disk.name}`,
  };
}

/**
 * Boots the test VM: the host root read-only under a RAM overlay, the repo and the results dir
 * read-write, the given virtio disks, loop and dm-thin-pool loaded, the guest agent ready. Rejects with
 * {@link VmUnavailableError} (with a one-line `reason`) when this machine cannot run it.
 */
export function startVm(options: StartVmOptions = {}): Promise<OwnedVm> {
  return OwnedVm.start(options);
}

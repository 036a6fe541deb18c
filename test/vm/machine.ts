/**
 * One qemu guest: its work dir (sockets, sparse disk files, console log), the virtiofsd processes of its
 * shares, the qemu process, and the guest agent's channel (a unix socket qemu connects to, carrying the
 * virtio-serial port). Used through the broker (broker.ts) by startVm() (vm.ts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  kernelCommandLine,
  planShares,
  qemuArgs,
  virtiofsdArgs,
  type DiskSpec,
  type MachineFiles,
  type ShareSpec,
  type VirtiofsdFlavor,
} from './options.js';
import { createLineParser, encodeMessage, type ReadyEvent } from './protocol.js';
import { REPO_DIR, VmUnavailableError, type VmImage } from './image.js';

/** What {@link Machine.boot} needs. */
export interface MachineOptions {
  image: VmImage;
  disks: readonly DiskSpec[];
  memoryMiB: number;
  cpus: number;
  /** Host directories shared read-write at the same path, besides the repo. */
  readWriteDirs: readonly string[];
  /** Guest directory that reset() empties. */
  scratchDir: string;
  /** Kernel messages in the console log. */
  verbose: boolean;
  /** Give up when the guest agent has not said "ready" after this long (default 180 s). */
  bootTimeoutMs?: number;
  /** Abort the boot (the VM is killed and boot() rejects). */
  signal?: AbortSignal;
}

/** Modules loaded at boot: the rest load on demand (busybox modprobe on the unpacked module tree). */
const BOOT_MODULES = ['loop', 'dm_mod', 'dm_thin_pool'];
/** The id of the machine's own shutdown request; the broker's ids start at 1. */
const SHUTDOWN_ID = 0;
const AGENT_PATH = path.join(REPO_DIR, 'test/vm/guest-agent.mjs');

/**
 * The virtiofsd wrapper script: a private mount namespace with its own /run/virtiofsd (pid files) and the
 * socket dir kept writable; for a read-only share the namespace's root is remounted read-only, because
 * qemu 7.2's virtiofsd has no read-only option. Constant text: the values arrive as positional arguments.
 */
const VIRTIOFSD_WRAPPER =
  'mkdir -p /run/virtiofsd && mount -t tmpfs thinpool-vm /run/virtiofsd && mount --bind "$1" "$1" && ' +
  '{ [ "$2" = rw ] || mount -o remount,bind,ro /; } && shift 2 && exec "$@"';

function findVirtiofsd(): { binary: string; flavor: VirtiofsdFlavor } {
  const candidates = [process.env.THINPOOL_VM_VIRTIOFSD, '/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'];
  const binary = candidates.find((c): c is string => !!c && fs.existsSync(c));
  if (!binary)
    throw new VmUnavailableError('no virtiofsd found (run test/vm/setup; Debian 13 needs package virtiofsd)');
  let help: string;
  try {
    help = execFileSync(binary, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    help = String((err as { stdout?: string }).stdout ?? '');
  }
  return { binary, flavor: help.includes('--shared-dir') ? 'rust' : 'c' };
}

function pickAccel(): 'tcg' | 'kvm' {
  const wanted = process.env.THINPOOL_VM_ACCEL ?? 'tcg';
  if (wanted === 'kvm') return 'kvm';
  if (wanted !== 'auto') return 'tcg';
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  let kvmWritable = false;
  try {
    fs.accessSync('/dev/kvm', fs.constants.W_OK);
    kvmWritable = true;
  } catch {
    // No KVM.
  }
  return /\b(vmx|svm)\b/.test(cpuinfo) && kvmWritable ? 'kvm' : 'tcg';
}

async function waitForSocket(socketPath: string, child: ChildProcess, logFile: string): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    if (fs.existsSync(socketPath)) return;
    if (child.exitCode !== null || child.signalCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim() : '';
  throw new VmUnavailableError(`virtiofsd did not start${log ? `: ${log.split('\n').pop()}` : ''}`);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopProcess(
  child: ChildProcess,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  const gone = once(child, 'exit');
  const timer = setTimeout(() => child.kill(signal), graceMs);
  const killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs + 5000);
  await gone;
  clearTimeout(timer);
  clearTimeout(killTimer);
}

/** Machines not stopped yet: killed and their work dirs removed if this process exits without stop(). */
const running = new Set<Machine>();
process.on('exit', () => {
  for (const machine of running) machine.killNow();
});

/** A booted guest whose agent said "ready". */
export class Machine {
  /** The agent's first message: kernel version, disks as the guest sees them. */
  ready!: ReadyEvent;
  /** Milliseconds from boot() to the agent's "ready". */
  bootMs = 0;
  /** Resolves with a one-line reason once the guest is gone (powered off, crashed, killed). */
  readonly gone: Promise<string>;

  private qemu?: ChildProcess;
  private readonly virtiofsds: ChildProcess[] = [];
  private agentServer?: net.Server;
  private channel?: net.Socket;
  private readonly handlers: ((message: unknown) => void)[] = [];
  private markGone!: (reason: string) => void;
  private stopping = false;

  private constructor(
    readonly workDir: string,
    readonly files: MachineFiles,
    readonly shares: readonly ShareSpec[],
  ) {
    this.gone = new Promise((resolve) => (this.markGone = resolve));
    running.add(this);
  }

  /** Synchronous last resort on process exit (an uncaught error): SIGKILL everything, remove the work dir. */
  killNow(): void {
    for (const child of [this.qemu, ...this.virtiofsds]) if (child && !exited(child)) child.kill('SIGKILL');
    fs.rmSync(this.workDir, { recursive: true, force: true });
    running.delete(this);
  }

  /** Creates the work dir, the disks and the shares, starts qemu and waits for the guest agent. */
  static async boot(options: MachineOptions): Promise<Machine> {
    const started = Date.now();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thinpool-vm-'));
    const files: MachineFiles = {
      kernel: options.image.kernel,
      initrd: options.image.initrd,
      consoleLog: path.join(workDir, 'console.log'),
      agentSocket: path.join(workDir, 'agent.sock'),
      fsSocket: (share) => path.join(workDir, `fs-${share.tag}.sock`),
      diskImage: (disk) => path.join(workDir, `disk-${disk.name}.img`),
    };
    const machine = new Machine(workDir, files, planShares(REPO_DIR, options.readWriteDirs));
    try {
      await machine.start(options);
      machine.bootMs = Date.now() - started;
      return machine;
    } catch (err) {
      const tail = machine.consoleTail(30);
      await machine.stop({ graceful: false });
      if (err instanceof VmUnavailableError && tail) err.message += `\nGuest console (last lines):\n${tail}`;
      throw err;
    }
  }

  private async start(options: MachineOptions): Promise<void> {
    for (const disk of options.disks) {
      const handle = await fs.promises.open(this.files.diskImage(disk), 'w');
      await handle.truncate(disk.sizeBytes);
      await handle.close();
    }
    const virtiofsd = findVirtiofsd();
    for (const share of this.shares) await this.startVirtiofsd(virtiofsd, share);

    this.agentServer = net.createServer();
    const connected = once(this.agentServer, 'connection') as Promise<[net.Socket]>;
    this.agentServer.listen(this.files.agentSocket);
    await once(this.agentServer, 'listening');

    const commandLine = kernelCommandLine({
      modulesDir: options.image.modulesDir,
      shares: this.shares,
      modules: BOOT_MODULES,
      nodePath: process.execPath,
      agentPath: AGENT_PATH,
      cwd: REPO_DIR,
      scratchDir: options.scratchDir,
      verbose: options.verbose,
    });
    const args = qemuArgs({
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      accel: pickAccel(),
      disks: options.disks,
      shares: this.shares,
      files: this.files,
      commandLine,
    });
    const qemuLog = fs.openSync(path.join(this.workDir, 'qemu.log'), 'w');
    // --pdeathsig: qemu dies with this process even when it is killed without a chance to clean up.
    const qemu = spawn('setpriv', ['--pdeathsig', 'SIGKILL', 'qemu-system-x86_64', ...args], {
      stdio: ['ignore', qemuLog, qemuLog],
    });
    fs.closeSync(qemuLog);
    this.qemu = qemu;
    qemu.on('error', (err) => this.markGone(`qemu could not start: ${err.message}`));
    qemu.on('exit', (code, signal) =>
      this.markGone(this.stopping ? 'the VM was stopped' : this.whyGone(code, signal)),
    );

    const bootTimeoutMs = options.bootTimeoutMs ?? 180_000;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const failure = Promise.race([
      this.gone.then((reason) => {
        throw new VmUnavailableError(`the guest did not boot: ${reason}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new VmUnavailableError(`the guest agent did not start within ${bootTimeoutMs / 1000} s`)),
          bootTimeoutMs,
        );
        onAbort = () => reject(new VmUnavailableError('the boot was aborted'));
        if (options.signal?.aborted) onAbort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    try {
      const [socket] = await Promise.race([connected, failure]);
      this.attachChannel(socket);
      const readyEvent = new Promise<ReadyEvent>((resolve) => {
        const onReady = (message: unknown): void => {
          if ((message as ReadyEvent).event === 'ready') resolve(message as ReadyEvent);
        };
        this.handlers.push(onReady);
      });
      this.ready = await Promise.race([readyEvent, failure]);
      this.handlers.length = 0;
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async startVirtiofsd(
    virtiofsd: { binary: string; flavor: VirtiofsdFlavor },
    share: ShareSpec,
  ): Promise<void> {
    const socketPath = this.files.fsSocket(share);
    const logFile = path.join(this.workDir, `virtiofsd-${share.tag}.log`);
    const log = fs.openSync(logFile, 'w');
    const child = spawn(
      'setpriv',
      [
        ...['--pdeathsig', 'SIGTERM', 'unshare', '--mount', '--propagation', 'private'],
        ...['sh', '-c', VIRTIOFSD_WRAPPER, 'virtiofsd-wrapper', this.workDir, share.readOnly ? 'ro' : 'rw'],
        virtiofsd.binary,
        ...virtiofsdArgs(virtiofsd.flavor, socketPath, share),
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    child.on('error', () => {}); // Reported by waitForSocket through the log and the exit.
    this.virtiofsds.push(child);
    await waitForSocket(socketPath, child, logFile);
  }

  private attachChannel(socket: net.Socket): void {
    this.channel = socket;
    socket.setEncoding('utf8');
    const parse = createLineParser(
      (message) => this.handlers.forEach((handler) => handler(message)),
      (line) =>
        process.stderr.write(
          `thinpool-vm: the guest agent sent a line that is not JSON: ${line.slice(0, 200)}\n`,
        ),
    );
    socket.on('data', parse);
    socket.on('error', () => {});
    // qemu's exit, which usually follows at once, tells more; the channel's end alone is reported after 5 s.
    socket.on('close', () => {
      setTimeout(
        () => this.markGone(this.stopping ? 'the VM was stopped' : 'the guest agent channel closed'),
        5000,
      ).unref();
    });
  }

  /** Sends one message to the guest agent. */
  send(message: unknown): void {
    this.channel?.write(encodeMessage(message));
  }

  /** Registers a handler for every message from the guest agent (after "ready"). */
  onMessage(handler: (message: unknown) => void): void {
    this.handlers.push(handler);
  }

  private whyGone(code: number | null, signal: NodeJS.Signals | null): string {
    const panic = /Kernel panic - not syncing: .*/.exec(this.readLog('console.log'));
    if (panic) return `the guest kernel panicked (${panic[0]})`;
    const qemuError = this.readLog('qemu.log').trim().split('\n').pop();
    const how = signal ? `qemu was killed by ${signal}` : `the guest powered off (qemu exit code ${code})`;
    return qemuError ? `${how}: ${qemuError}` : how;
  }

  private readLog(name: string): string {
    try {
      return fs.readFileSync(path.join(this.workDir, name), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * The end of the guest's console (kernel messages, the init's and the agent's errors): after a kernel
   * panic or oops, from its first line (at most 80 lines); otherwise the last `lines` lines.
   */
  consoleTail(lines = 40): string {
    const all = this.readLog('console.log').replace(/\r/g, '').trimEnd().split('\n');
    const crash = all.findIndex((line) => /Kernel panic|BUG: |Oops: /.test(line));
    const from = crash >= 0 ? crash : Math.max(0, all.length - lines);
    return all
      .slice(from, from + Math.max(lines, crash >= 0 ? 80 : 0))
      .join('\n')
      .trim();
  }

  /** Asks the agent to kill the commands still running; waits up to 3 s for its answer. */
  private async shutdownAgent(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.handlers.push((message) => {
          if ((message as { id?: number }).id === SHUTDOWN_ID) resolve();
        });
        this.send({ id: SHUTDOWN_ID, op: 'shutdown' });
      }),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 3000))),
      this.gone,
    ]);
    clearTimeout(timer);
  }

  /**
   * Powers the guest off (graceful: asks the agent first; qemu is killed after 10 s), stops the
   * virtiofsd processes and removes the work dir with its disk files. Safe to call twice.
   */
  async stop({ graceful }: { graceful: boolean }): Promise<void> {
    this.stopping = true;
    if (this.qemu) {
      if (graceful && this.channel && !this.channel.destroyed && !exited(this.qemu))
        await this.shutdownAgent();
      // Closing the channel ends the agent's read: it exits, and the init powers the guest off.
      this.channel?.destroy();
      await stopProcess(this.qemu, graceful ? 10_000 : 0);
    }
    if (this.agentServer?.listening) {
      this.agentServer.close();
      await once(this.agentServer, 'close');
    }
    // virtiofsd exits by itself when qemu goes away; SIGTERM is the fallback.
    await Promise.all(this.virtiofsds.map((child) => stopProcess(child, 3000)));
    this.markGone('the VM was stopped');
    fs.rmSync(this.workDir, { recursive: true, force: true });
    running.delete(this);
  }
}

/**
 * `GuestVm`: the node agent's `Host` port, implemented by the test VM's guest. Every command runs inside
 * the guest's real Debian kernel; files are read and written there. It talks to the broker (broker.ts)
 * over a unix socket, so any process can use the VM: `connectVm(process.env.THINPOOL_VM_SOCKET)`.
 */
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import {
  CommandError,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
  type WriteFileOptions,
} from '../../node-agent/host/host.js';
import {
  SessionRunner,
  type InteractiveHandlers,
  type StartInteractive,
} from '../../node-agent/host/session.js';
import {
  GUEST_GONE,
  createLineParser,
  encodeMessage,
  type BrokerOperation,
  type ErrorReply,
  type OkReply,
  type OutputEvent,
  type RunReply,
  type VmDisk,
  type VmInfo,
  type WireError,
} from './protocol.js';

/** Like the local host: commands are killed after 120 s unless the caller says otherwise. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** How long after a command's own timeout the guest may take to report it before the host gives up. */
const REPLY_GRACE_MS = 30_000;
const RESET_TIMEOUT_MS = 300_000;
/**
 * The guest's own timeout of a command session's process: only a backstop, since the `SessionRunner`
 * times out each call and kills the process itself.
 */
const SESSION_PROCESS_TIMEOUT_MS = 24 * 60 * 60 * 1000;

type Reply = OkReply | RunReply | ErrorReply;

interface Waiter {
  resolve: (reply: Reply) => void;
  onOutput?: (event: OutputEvent) => void;
}

/** Options of {@link GuestVm.runStreaming}. */
export interface StreamingRunOptions {
  /** Called with every chunk of output as the command writes it. */
  onOutput: (fd: 1 | 2, data: Buffer) => void;
  timeoutMs?: number;
  env?: Readonly<Record<string, string>>;
}

/** Rebuilds an fs-style error (code, syscall, path) from the guest's. */
function fileError(error: WireError): Error {
  return Object.assign(new Error(error.message), {
    code: error.code,
    ...(error.syscall ? { syscall: error.syscall } : {}),
    ...(error.path ? { path: error.path } : {}),
  });
}

/** Refuses what the local host refuses (node-agent/host/host-files.ts): relative, non-normalised, NUL. */
function checkPath(filePath: string): void {
  if (!path.isAbsolute(filePath) || path.posix.normalize(filePath) !== filePath || filePath.includes('\0')) {
    throw new Error(`Refused host path ${JSON.stringify(filePath)}: it must be absolute and normalised`);
  }
}

/** Refuses what the local host refuses (node-agent/host/command-runner.ts): an empty command. */
function checkArgv(argv: readonly string[]): void {
  if (argv.length === 0 || argv[0] === '') throw new Error('Refused to run an empty command');
}

/** How a run ended, from the guest's reply to a `run` that got one: its exit code, or why it has none. */
function endOf(
  reply: RunReply,
): { exitCode: number; cause?: undefined } | { exitCode: undefined; cause: string } {
  if (reply.reason) return { exitCode: undefined, cause: reply.reason };
  if (reply.exitCode === null) return { exitCode: undefined, cause: `signal ${reply.signal}` };
  return { exitCode: reply.exitCode };
}

/** Tells a session how its process ended, mapping the run's reply as `GuestVm.run` does. */
function reportExit(reply: Reply, handlers: InteractiveHandlers): void {
  if (!reply.ok) return handlers.exit(undefined, 'vm gone');
  const end = endOf(reply as RunReply);
  handlers.exit(end.exitCode, end.cause);
}

/** The test VM, as seen by one process: a `Host` plus the VM's disks, reset() and the broker lease. */
export class GuestVm implements Host {
  readonly kind = 'vm';
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private closedReason?: string;
  private sessionRunner?: SessionRunner;
  info!: VmInfo;

  protected constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on(
      'data',
      createLineParser((message) => this.fromBroker(message as Reply | OutputEvent)),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedReason = 'the connection to the VM broker closed';
      for (const [id, waiter] of this.waiters) {
        this.waiters.delete(id);
        waiter.resolve({
          id,
          ok: false,
          error: { code: GUEST_GONE, message: `The VM is gone: ${this.closedReason}` },
        });
      }
    });
  }

  /** Connects to a broker's socket (see `THINPOOL_VM_SOCKET`). */
  static async connect(socketPath: string): Promise<GuestVm> {
    const vm = new GuestVm(await GuestVm.openSocket(socketPath));
    await vm.loadInfo();
    return vm;
  }

  protected static async openSocket(socketPath: string): Promise<net.Socket> {
    const socket = net.createConnection(socketPath);
    try {
      await once(socket, 'connect');
    } catch (err) {
      throw new Error(
        `Could not reach the VM broker at ${socketPath} (the VM is gone or was never started): ${(err as Error).message}`,
        { cause: err },
      );
    }
    return socket;
  }

  protected async loadInfo(): Promise<void> {
    const reply = await this.request({ op: 'info' });
    if (!reply.ok) throw new Error(`The VM broker refused 'info': ${reply.error.message}`);
    this.info = (reply as OkReply).info as VmInfo;
  }

  /** The VM's virtio disks, in the order they were given at boot. */
  get disks(): readonly VmDisk[] {
    return this.info.disks;
  }

  /** The disk called `name` (as given at boot); throws when there is none. */
  disk(name: string): VmDisk {
    const disk = this.info.disks.find((d) => d.name === name);
    if (!disk)
      throw new Error(
        `The VM has no disk '${name}' (it has ${this.info.disks.map((d) => d.name).join(', ')})`,
      );
    return disk;
  }

  private fromBroker(message: Reply | OutputEvent): void {
    const waiter = this.waiters.get(message.id);
    if (!waiter) return;
    if ('event' in message && message.event === 'output') {
      waiter.onOutput?.(message as OutputEvent);
      return;
    }
    this.waiters.delete(message.id);
    waiter.resolve(message as Reply);
  }

  private request(
    operation: BrokerOperation,
    onOutput?: (event: OutputEvent) => void,
    id = this.nextId++,
  ): Promise<Reply> {
    if (this.closedReason) {
      return Promise.resolve({
        id,
        ok: false,
        error: { code: GUEST_GONE, message: `The VM is gone: ${this.closedReason}` },
      });
    }
    return new Promise((resolve) => {
      this.waiters.set(id, { resolve, onOutput });
      this.socket.write(encodeMessage({ ...operation, id }));
    });
  }

  /**
   * Starts a command session's process in the guest (see `StartInteractive`): a streamed `run` whose
   * stdin stays open, fed by `input` requests.
   */
  private readonly startInteractive: StartInteractive = (argv, env, handlers) => {
    const id = this.nextId++;
    const decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
    void this.request(
      { op: 'run', argv, env, stream: true, keepStdin: true, timeoutMs: SESSION_PROCESS_TIMEOUT_MS },
      (event) => {
        const text = decoders[event.fd].decode(Buffer.from(event.data, 'base64'), { stream: true });
        if (text) handlers.output(event.fd, text);
      },
      id,
    ).then((reply) => {
      for (const fd of [1, 2] as const) {
        const rest = decoders[fd].decode();
        if (rest) handlers.output(fd, rest);
      }
      reportExit(reply, handlers);
    });
    const input = (data: string | undefined, end: boolean): void =>
      void this.request({ op: 'input', target: id, data, end });
    return {
      write: (text) => input(text, false),
      end: () => input(undefined, true),
      kill: () => {
        input(undefined, true);
        void this.request({ op: 'kill', target: id });
      },
    };
  };

  private get sessions(): SessionRunner {
    this.sessionRunner ??= new SessionRunner(this.startInteractive, DEFAULT_TIMEOUT_MS);
    return this.sessionRunner;
  }

  /**
   * Runs a command in the guest with the same results and errors as the local host (see `Host.run`),
   * including command sessions (`options.session`: one guest process across calls).
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    checkArgv(argv);
    if (options.session) return this.sessions.run(argv, { ...options, session: options.session });
    if (options.signal?.aborted) throw new CommandError({ argv, exitCode: undefined, cause: 'aborted' });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const id = this.nextId++;
    const replied = this.request(
      { op: 'run', argv, input: options.input, env: options.env, timeoutMs },
      undefined,
      id,
    );
    const kill = (): void => void this.request({ op: 'kill', target: id });
    options.signal?.addEventListener('abort', kill, { once: true });
    let guard: NodeJS.Timeout | undefined;
    const unanswered = new Promise<'unanswered'>((resolve) => {
      guard = setTimeout(() => resolve('unanswered'), timeoutMs + REPLY_GRACE_MS);
    });
    let reply: Reply | 'unanswered';
    try {
      reply = await Promise.race([replied, unanswered]);
    } finally {
      clearTimeout(guard);
      options.signal?.removeEventListener('abort', kill);
    }
    if (reply === 'unanswered') {
      this.waiters.delete(id);
      kill();
      throw new CommandError({ argv, exitCode: undefined, cause: 'timeout' });
    }
    if (!reply.ok) {
      throw new CommandError({ argv, exitCode: undefined, stderr: reply.error.message, cause: 'vm gone' });
    }
    const { stdout, stderr, durationMs } = reply as RunReply;
    const { exitCode, cause } = endOf(reply as RunReply);
    if (exitCode === undefined) throw new CommandError({ argv, exitCode, stdout, stderr, cause });
    if (!(options.okExitCodes ?? [0]).includes(exitCode))
      throw new CommandError({ argv, exitCode, stdout, stderr });
    return { argv, exitCode, stdout, stderr, durationMs };
  }

  /**
   * Runs a command and passes its output on as it comes (the one-shot runner uses this). Resolves with the
   * raw reply whatever the exit code; rejects only when the VM is gone.
   */
  async runStreaming(argv: readonly string[], options: StreamingRunOptions): Promise<RunReply> {
    checkArgv(argv);
    const reply = await this.request(
      { op: 'run', argv, env: options.env, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, stream: true },
      (event) => options.onOutput(event.fd, Buffer.from(event.data, 'base64')),
    );
    if (!reply.ok) throw new Error(reply.error.message);
    return reply as RunReply;
  }

  /** Reads a guest text file; `undefined` when it does not exist. */
  async readFile(filePath: string): Promise<string | undefined> {
    checkPath(filePath);
    const reply = await this.request({ op: 'readFile', path: filePath });
    if (!reply.ok) throw fileError(reply.error);
    return ((reply as OkReply).content as string | null) ?? undefined;
  }

  /** Writes a guest file atomically (temporary file in the same directory, fsync, rename, fsync of the directory). */
  async writeFile(filePath: string, content: string, options: WriteFileOptions = {}): Promise<void> {
    checkPath(filePath);
    const reply = await this.request({ op: 'writeFile', path: filePath, content, mode: options.mode });
    if (!reply.ok) throw fileError(reply.error);
  }

  /** Stats a guest path, following symlinks. */
  async stat(filePath: string): Promise<FileStat> {
    checkPath(filePath);
    const reply = await this.request({ op: 'stat', path: filePath });
    if (!reply.ok) throw fileError(reply.error);
    return (reply as OkReply).stat as FileStat;
  }

  /**
   * Returns the guest to its boot-time state (test/vm/guest-reset.sh): no VGs, LVs, PVs, dm or loop
   * devices, wiped disks, no dmeventd, /etc/lvm as at boot, an empty scratch dir, no stray processes.
   * Rejects with a CommandError naming what is left when that fails.
   */
  async reset(): Promise<void> {
    await this.run(['bash', path.join(this.info.repoDir, 'test/vm/guest-reset.sh')], {
      timeoutMs: RESET_TIMEOUT_MS,
      env: { THINPOOL_VM_SCRATCH: this.info.scratchDir },
    });
  }

  /** Waits for the broker's exclusive lease (one test file at a time drives the VM). */
  async acquire(): Promise<void> {
    const reply = await this.request({ op: 'acquire' });
    if (!reply.ok) throw new Error(`Could not get the VM lease: ${reply.error.message}`);
  }

  /** Gives the lease back. */
  async release(): Promise<void> {
    await this.request({ op: 'release' });
  }

  /** Closes this connection (the VM keeps running); releases the lease if held. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    this.socket.end();
    await once(this.socket, 'close');
  }
}

/** Connects to the VM whose broker listens on `socketPath` (default: `THINPOOL_VM_SOCKET`). */
export async function connectVm(socketPath = process.env.THINPOOL_VM_SOCKET): Promise<GuestVm> {
  if (!socketPath)
    throw new Error('No VM broker socket: THINPOOL_VM_SOCKET is not set (is the vm jest project running?)');
  return GuestVm.connect(socketPath);
}

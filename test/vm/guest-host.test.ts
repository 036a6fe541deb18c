/**
 * The VM harness's plumbing without a VM: the real guest agent (guest-agent.mjs) runs on this host over
 * stdio, behind the real broker, driven by the real GuestVm client. The same code runs in the guest in the
 * `vm` project (guest.vm.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CommandError } from '../../node-agent/host/host.js';
import { Broker, type GuestChannel } from './broker.js';
import { GuestVm } from './guest-host.js';
import { REPO_DIR } from './image.js';
import { createLineParser, encodeMessage, type VmInfo } from './protocol.js';
import { ECHO_SESSION_ARGV, lineSession, pidOf, sessionTests, waitGone } from '../support/session-suite.js';

/** The guest agent as a local child process speaking the protocol on its stdin and stdout. */
class LocalAgent implements GuestChannel {
  readonly child: ChildProcess;
  readonly gone: Promise<string>;
  readonly ready: Promise<unknown>;
  private readonly handlers: ((message: unknown) => void)[] = [];

  constructor(cwd: string) {
    this.child = spawn(
      process.execPath,
      [path.join(REPO_DIR, 'test/vm/guest-agent.mjs'), '--stdio', '--cwd', cwd],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    // EPIPE when a request races the agent's death; the death itself is reported through `gone`, as the
    // VM's channel does (machine.ts).
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on(
      'data',
      createLineParser((message) => this.handlers.forEach((h) => h(message))),
    );
    this.gone = once(this.child, 'exit').then(([code, signal]) => `agent exited (${code ?? signal})`);
    this.ready = new Promise((resolve) =>
      this.handlers.push((m) => (m as { event?: string }).event === 'ready' && resolve(m)),
    );
  }

  send(message: unknown): void {
    this.child.stdin!.write(encodeMessage(message));
  }

  onMessage(handler: (message: unknown) => void): void {
    this.handlers.push(handler);
  }
}

/** False once the process is gone or a zombie (its parent may not reap it promptly). */
function isAlive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Reads a PID that a command writes to `file`, waiting until it is there. */
async function pidFrom(vm: GuestVm, file: string): Promise<number> {
  for (;;) {
    const pid = Number((await vm.readFile(file)) ?? '');
    if (pid > 0) return pid;
  }
}

/** A broker client speaking the protocol directly, to check the broker's routing of raw requests. */
class RawClient {
  private readonly messages: { id: number; event?: string; fd?: number; data?: string }[] = [];
  private readonly waiting = new Set<() => void>();

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on(
      'data',
      createLineParser((message) => {
        this.messages.push(message as RawClient['messages'][number]);
        for (const wake of this.waiting) wake();
      }),
    );
  }

  static async connect(socketPath: string): Promise<RawClient> {
    const socket = net.createConnection(socketPath);
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(request: unknown): void {
    this.socket.write(encodeMessage(request));
  }

  /** The final reply to request `id`. */
  async reply(id: number): Promise<unknown> {
    for (;;) {
      const reply = this.messages.find((m) => m.id === id && m.event === undefined);
      if (reply) return reply;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiting.delete(wake);
          resolve();
        };
        this.waiting.add(wake);
      });
    }
  }

  /** The stdout a streamed run `id` sent so far, decoded. */
  output(id: number): string {
    return Buffer.concat(
      this.messages
        .filter((m) => m.id === id && m.event === 'output' && m.fd === 1)
        .map((m) => Buffer.from(m.data!, 'base64')),
    ).toString('utf8');
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Rig {
  dir: string;
  agent: LocalAgent;
  broker: Broker;
  socketPath: string;
  vm: GuestVm;
}

async function startRig(): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thinpool-vm-unit-'));
  const agent = new LocalAgent(dir);
  await agent.ready;
  const info: VmInfo = {
    kernel: 'local',
    disks: [],
    repoDir: REPO_DIR,
    resultsDir: dir,
    scratchDir: dir,
    bootMs: 0,
    guestUptimeAtReadyMs: 0,
  };
  const broker = new Broker(agent, info);
  const socketPath = path.join(dir, 'broker.sock');
  await broker.listen(socketPath);
  return { dir, agent, broker, socketPath, vm: await GuestVm.connect(socketPath) };
}

async function stopRig(rig: Rig): Promise<void> {
  await rig.vm.close();
  await rig.broker.close();
  if (rig.agent.child.exitCode === null && rig.agent.child.signalCode === null) {
    rig.agent.child.stdin!.end();
    await rig.agent.gone;
  }
  fs.rmSync(rig.dir, { recursive: true, force: true });
}

describe('GuestVm over the broker, with the guest agent running locally', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(() => stopRig(rig));

  describe('run', () => {
    it('resolves with argv, exit code, stdout, stderr and duration', async () => {
      const result = await rig.vm.run(['sh', '-c', 'echo out; echo err >&2']);
      expect(result).toMatchObject({
        argv: ['sh', '-c', 'echo out; echo err >&2'],
        exitCode: 0,
        stdout: 'out\n',
        stderr: 'err\n',
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('rejects a non-zero exit with a CommandError carrying the command line, exit code and stderr', async () => {
      const error = (await rig.vm
        .run(['sh', '-c', 'echo bad >&2; exit 3'])
        .catch((e: unknown) => e)) as CommandError;
      expect(error).toBeInstanceOf(CommandError);
      expect(error).toMatchObject({
        argv: ['sh', '-c', 'echo bad >&2; exit 3'],
        exitCode: 3,
        stderr: 'bad\n',
      });
      expect(error.message).toBe("Command failed (exit code 3): sh -c 'echo bad >&2; exit 3': bad");
    });

    it('resolves exit codes listed in okExitCodes', async () => {
      expect((await rig.vm.run(['sh', '-c', 'exit 5'], { okExitCodes: [0, 5] })).exitCode).toBe(5);
    });

    it('reports a missing program as "not found" without an exit code', async () => {
      await expect(rig.vm.run(['no-such-program-thinpool'])).rejects.toMatchObject({
        exitCode: undefined,
        reason: 'not found',
      });
    });

    it('reports death by a signal', async () => {
      await expect(rig.vm.run(['sh', '-c', 'kill -KILL $$'])).rejects.toMatchObject({
        exitCode: undefined,
        reason: 'signal SIGKILL',
      });
    });

    it('kills the command and its children on timeout', async () => {
      const pidFile = path.join(rig.dir, 'child.pid');
      const error = await rig.vm
        .run(['sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], { timeoutMs: 300 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ exitCode: undefined, reason: 'timeout' });
      expect(isAlive(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(false);
    });

    it('aborts through the AbortSignal, and refuses to start when it is already aborted', async () => {
      const controller = new AbortController();
      const running = rig.vm.run(['sleep', '60'], { signal: controller.signal });
      controller.abort();
      await expect(running).rejects.toMatchObject({ exitCode: undefined, reason: 'aborted' });
      await expect(rig.vm.run(['true'], { signal: controller.signal })).rejects.toMatchObject({
        reason: 'aborted',
      });
    });

    it('passes input and extra environment, and always sets LC_ALL=C', async () => {
      const result = await rig.vm.run(['sh', '-c', 'cat; echo "$LC_ALL $EXTRA"'], {
        input: 'in\n',
        env: { EXTRA: 'x', LC_ALL: 'fr_FR.UTF-8' },
      });
      expect(result.stdout).toBe('in\nC x\n');
    });

    it('closes stdin when no input is given', async () => {
      expect((await rig.vm.run(['cat'])).stdout).toBe('');
    });

    it('refuses an empty command line and relative or non-normalised paths, as the local host does', async () => {
      await expect(rig.vm.run([])).rejects.toThrow('Refused to run an empty command');
      await expect(rig.vm.readFile('etc/hostname')).rejects.toThrow(
        'Refused host path "etc/hostname": it must be absolute and normalised',
      );
      await expect(rig.vm.stat('/etc/../etc/hostname')).rejects.toThrow('must be absolute and normalised');
    });

    it('streams output in order and resolves with the raw reply', async () => {
      const chunks: string[] = [];
      const reply = await rig.vm.runStreaming(['sh', '-c', 'echo one; echo two >&2; exit 4'], {
        onOutput: (fd, data) => chunks.push(`${fd}:${data.toString()}`),
      });
      expect(reply).toMatchObject({ exitCode: 4, stdout: '', stderr: '' });
      expect(chunks.sort()).toEqual(['1:one\n', '2:two\n']);
    });
  });

  describe('files', () => {
    it('writes atomically with the mode, replaces, and leaves no temporary file', async () => {
      const file = path.join(rig.dir, 'files', 'a.conf');
      fs.mkdirSync(path.dirname(file));
      await rig.vm.writeFile(file, 'first\n', { mode: 0o600 });
      await rig.vm.writeFile(file, 'second\n', { mode: 0o640 });
      expect(fs.readFileSync(file, 'utf8')).toBe('second\n');
      expect(fs.statSync(file).mode & 0o7777).toBe(0o640);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['a.conf']);
      expect(await rig.vm.readFile(file)).toBe('second\n');
    });

    it('reads a missing file as undefined and fails on a directory with the fs error code', async () => {
      expect(await rig.vm.readFile(path.join(rig.dir, 'missing'))).toBeUndefined();
      await expect(rig.vm.readFile(rig.dir)).rejects.toMatchObject({ code: 'EISDIR' });
      await expect(rig.vm.readFile('/dev/null/below')).rejects.toMatchObject({ code: 'ENOTDIR' });
    });

    it('fails a write into a missing directory with ENOENT', async () => {
      await expect(rig.vm.writeFile(path.join(rig.dir, 'nodir', 'x'), 'x')).rejects.toMatchObject({
        code: 'ENOENT',
      });
    });

    it('stats files, directories, character devices and missing paths', async () => {
      const file = path.join(rig.dir, 'sized');
      fs.writeFileSync(file, '12345');
      expect(await rig.vm.stat(file)).toMatchObject({ exists: true, type: 'file', sizeBytes: 5 });
      expect(await rig.vm.stat(rig.dir)).toMatchObject({ exists: true, type: 'directory' });
      expect(await rig.vm.stat('/dev/null')).toMatchObject({ exists: true, type: 'character-device' });
      expect(await rig.vm.stat(path.join(rig.dir, 'missing'))).toEqual({ exists: false });
      expect(await rig.vm.stat(path.join(file, 'below-a-file'))).toEqual({ exists: false });
    });
  });

  describe('the broker', () => {
    let other: GuestVm;
    beforeEach(async () => {
      other = await GuestVm.connect(rig.socketPath);
    });
    afterEach(() => other.close());

    it('keeps the replies of clients apart although they use the same request ids', async () => {
      const [slow, fast] = await Promise.all([
        rig.vm.run(['sh', '-c', 'sleep 0.3; echo first-client']),
        other.run(['echo', 'second-client']),
      ]);
      expect(slow.stdout).toBe('first-client\n');
      expect(fast.stdout).toBe('second-client\n');
    });

    it('gives the lease to one client at a time, in order', async () => {
      const events: string[] = [];
      await rig.vm.acquire();
      events.push('first acquired');
      const second = other.acquire().then(() => events.push('second acquired'));
      await rig.vm.run(['true']);
      events.push('first releasing');
      await rig.vm.release();
      await second;
      await other.release();
      expect(events).toEqual(['first acquired', 'first releasing', 'second acquired']);
    });

    it('passes the lease on when its holder disconnects', async () => {
      await other.acquire();
      const third = await GuestVm.connect(rig.socketPath);
      const granted = third.acquire();
      await other.close();
      await expect(granted).resolves.toBeUndefined();
      await third.close();
    });

    it("kills a disconnected client's running commands", async () => {
      const pidFile = path.join(rig.dir, 'orphan.pid');
      void other.run(['sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`]).catch(() => {});
      const pid = await pidFrom(rig.vm, pidFile);
      expect(isAlive(pid)).toBe(true);
      await other.close();
      // The kill request reaches the agent after the close: wait for the process to go.
      while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(isAlive(pid)).toBe(false);
    });

    it("kills a disconnected client's session processes", async () => {
      const session = lineSession();
      const { stdout } = await other.run(ECHO_SESSION_ARGV, { session, input: 'one\n' });
      const pid = pidOf(stdout);
      expect(isAlive(pid)).toBe(true);
      await other.close();
      await waitGone(rig.vm, pid, "the disconnected client's session process to end");
      expect(isAlive(pid)).toBe(false);
    });

    it("routes input to the client's own run by its request id, and answers input to a finished run", async () => {
      const raw = await RawClient.connect(rig.socketPath);
      // Ids that other clients also use: the broker must rewrite them to the guest's.
      raw.send({ id: 1, op: 'run', argv: ['cat'], stream: true, keepStdin: true, input: 'first\n' });
      raw.send({ id: 2, op: 'input', target: 1, data: 'second\n' });
      raw.send({ id: 3, op: 'input', target: 1, end: true });
      const reply = await raw.reply(1);
      expect(reply).toMatchObject({ ok: true, exitCode: 0, stdout: '' });
      expect(await raw.reply(2)).toEqual({ id: 2, ok: true });
      expect(await raw.reply(3)).toEqual({ id: 3, ok: true });
      expect(raw.output(1)).toBe('first\nsecond\n');
      raw.send({ id: 4, op: 'input', target: 1, data: 'late\n', end: true });
      raw.send({ id: 5, op: 'input', target: 99, data: 'nobody\n' });
      expect(await raw.reply(4)).toEqual({ id: 4, ok: true });
      expect(await raw.reply(5)).toEqual({ id: 5, ok: true });
      raw.close();
    });

    it('tells every client about the VM, with its disks', async () => {
      expect(other.info).toEqual(rig.vm.info);
      expect(() => other.disk('disk1')).toThrow("The VM has no disk 'disk1'");
    });
  });
});

describe('command sessions through the broker, with the guest agent running locally', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(() => stopRig(rig));

  sessionTests(() => rig.vm);

  it('fails the call with reason "vm gone" when the guest goes away', async () => {
    const other = await startRig();
    const session = lineSession();
    const pid = pidOf((await other.vm.run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
    const pending = other.vm.run(ECHO_SESSION_ARGV, { session, input: 'sleep\n' });
    other.agent.child.kill('SIGKILL');
    await expect(pending).rejects.toMatchObject({ exitCode: undefined, reason: 'vm gone' });
    await expect(other.vm.run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).rejects.toMatchObject({
      reason: 'vm gone',
    });
    process.kill(-pid, 'SIGKILL'); // Its process group (bash and its sleep), orphaned by the killed agent.
    session.close();
    await stopRig(other);
  });
});

describe('GuestVm when the guest goes away', () => {
  it('fails the pending and later commands with reason "vm gone"', async () => {
    const rig = await startRig();
    const pidFile = path.join(rig.dir, 'pending.pid');
    const pending = rig.vm.run(['sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`]);
    const pid = await pidFrom(rig.vm, pidFile);
    rig.agent.child.kill('SIGKILL');
    await expect(pending).rejects.toMatchObject({ exitCode: undefined, reason: 'vm gone' });
    process.kill(pid, 'SIGKILL'); // Orphaned by the killed agent.
    await expect(rig.vm.run(['true'])).rejects.toMatchObject({ reason: 'vm gone' });
    await expect(rig.vm.readFile('/etc/hostname')).rejects.toMatchObject({ code: 'EVMGONE' });
    await stopRig(rig);
  });
});

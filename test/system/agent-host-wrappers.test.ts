import { describe, expect, it } from '@jest/globals';
import winston from 'winston';
import { DmEventWatcher } from '../../node-agent/cluster/dm-event-watcher.js';
import { AgentStoppingError, GatedHost } from '../../node-agent/cluster/gated-host.js';
import {
  CommandError,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
} from '../../node-agent/host/host.js';

const quiet = winston.createLogger({ silent: true });

/** A host whose commands finish when the test says so: the order of events is the test's to decide. */
class ScriptedHost implements Host {
  readonly kind = 'scripted';
  readonly started: string[] = [];
  private readonly pending = new Map<string, Array<(stdout: string) => void>>();

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const line = argv.join(' ');
    this.started.push(line);
    return new Promise((resolve, reject) => {
      const finish = (stdout: string) => resolve({ argv, exitCode: 0, stdout, stderr: '', durationMs: 1 });
      this.pending.set(line, [...(this.pending.get(line) ?? []), finish]);
      options.signal?.addEventListener('abort', () =>
        reject(new CommandError({ argv, exitCode: undefined, cause: 'aborted' })),
      );
    });
  }

  /** Completes the oldest running `line` with `stdout`. */
  finish(line: string, stdout = ''): void {
    const waiting = this.pending.get(line);
    const next = waiting?.shift();
    if (!next) throw new Error(`${line} is not running (started: ${this.started.join(' | ')})`);
    next(stdout);
  }

  async waitForStart(line: string, count = 1): Promise<void> {
    while (this.started.filter((l) => l === line).length < count) await new Promise((r) => setTimeout(r, 5));
  }

  async readFile(): Promise<string | undefined> {
    return 'content';
  }

  async writeFile(): Promise<void> {}

  async stat(): Promise<FileStat> {
    return { exists: false };
  }
}

describe('GatedHost', () => {
  it('lets the running change finish on close, refuses new ones, keeps reads working', async () => {
    const inner = new ScriptedHost();
    const gate = new GatedHost(inner);
    const before: string[] = [];
    gate.beforeMutation = async () => void before.push('provisioning');
    const running = gate.run(['lvextend', '-l', '300', 'docker/thinpool']);
    await inner.waitForStart('lvextend -l 300 docker/thinpool');
    expect(before).toEqual(['provisioning']);
    expect(gate.mutationsInFlight).toBe(1);

    let closed = false;
    const closing = gate.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    await expect(gate.run(['lvchange', '--zero', 'y', 'docker/thinpool'])).rejects.toBeInstanceOf(
      AgentStoppingError,
    );
    await expect(gate.writeFile('/etc/lvm/profile/x.profile', 'x')).rejects.toBeInstanceOf(
      AgentStoppingError,
    );
    const read = gate.run(['lvm', 'fullreport']);
    inner.finish('lvm fullreport', '{}');
    expect((await read).stdout).toBe('{}');

    inner.finish('lvextend -l 300 docker/thinpool');
    await running;
    await closing;
    expect(closed).toBe(true);
    expect(inner.started).not.toContain('lvchange --zero y docker/thinpool');
  });
});

describe('DmEventWatcher', () => {
  it('waits from the current event counter, reports each event, follows a new device and stops', async () => {
    const host = new ScriptedHost();
    const events: string[] = [];
    const watcher = new DmEventWatcher({ host, log: quiet, onEvent: (device) => events.push(device) });
    watcher.watch('docker-thinpool');
    await host.waitForStart('dmsetup info -c --noheadings -o events docker-thinpool');
    host.finish('dmsetup info -c --noheadings -o events docker-thinpool', '4\n');
    await host.waitForStart('dmsetup wait docker-thinpool 4');
    host.finish('dmsetup wait docker-thinpool 4');
    await host.waitForStart('dmsetup info -c --noheadings -o events docker-thinpool', 2);
    expect(events).toEqual(['docker-thinpool']);

    // The pool got thin volumes: the target moved to -tpool; the old wait is abandoned.
    host.finish('dmsetup info -c --noheadings -o events docker-thinpool', '5\n');
    await host.waitForStart('dmsetup wait docker-thinpool 5');
    watcher.watch('docker-thinpool-tpool');
    await host.waitForStart('dmsetup info -c --noheadings -o events docker-thinpool-tpool');
    host.finish('dmsetup info -c --noheadings -o events docker-thinpool-tpool', '0\n');
    await host.waitForStart('dmsetup wait docker-thinpool-tpool 0');
    expect(events).toEqual(['docker-thinpool']);

    await watcher.stop();
    expect(events).toEqual(['docker-thinpool']);
  });
});

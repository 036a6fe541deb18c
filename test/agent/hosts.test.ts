import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import winston from 'winston';
import { Writable } from 'node:stream';
import { CommandError, type Host } from '../../node-agent/host/host.js';
import { LocalHost } from '../../node-agent/host/local-host.js';
import { isMutatingCommand, LoggedHost } from '../../node-agent/host/logged-host.js';
import { NsenterHost } from '../../node-agent/host/nsenter-host.js';
import { fullReportArgv } from '../../node-agent/lvm/commands.js';
import { LASTLOG, lvmShellInput, runLvmShell } from '../../node-agent/lvm/shell.js';
import { fixture } from './support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'agent-hosts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('LocalHost commands', () => {
  const host = new LocalHost();

  it('runs an argument array without a shell, under LC_ALL=C', async () => {
    const result = await host.run(['sh', '-c', 'echo "$LC_ALL" "$1"', 'sh', '$(touch /nonexistent); *']);
    expect(result.stdout).toBe('C $(touch /nonexistent); *\n');
    expect(result.exitCode).toBe(0);
    expect(result.argv[0]).toBe('sh');
  });

  it('rejects a non-zero exit with the command line, exit code and stderr', async () => {
    const error = await host.run(['ls', '/nonexistent-dir']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    const e = error as CommandError;
    expect(e.argv).toEqual(['ls', '/nonexistent-dir']);
    expect(e.exitCode).toBe(2);
    expect(e.stderr).toMatch(/No such file or directory/);
    expect(e.message).toMatch(/^Command failed \(exit code 2\): ls \/nonexistent-dir: ls: /);
  });

  it('accepts the exit codes it is told are fine, and passes stdin', async () => {
    expect((await host.run(['sh', '-c', 'cat; exit 3'], { okExitCodes: [0, 3], input: 'in' })).stdout).toBe(
      'in',
    );
  });

  it('kills a command at its timeout and on abort', async () => {
    const timedOut = (await host
      .run(['sleep', '10'], { timeoutMs: 100 })
      .catch((e: unknown) => e)) as CommandError;
    expect(timedOut.reason).toBe('timeout');
    expect(timedOut.exitCode).toBeUndefined();
    const controller = new AbortController();
    const pending = host.run(['sleep', '10'], { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(((await pending) as CommandError).reason).toBe('aborted');
  });

  it('reports a missing program', async () => {
    const e = (await host.run(['no-such-program-here']).catch((x: unknown) => x)) as CommandError;
    expect(e.reason).toBe('not found');
  });
});

describe('LocalHost files', () => {
  const host = new LocalHost();

  it('writes atomically with the mode, leaving no temporary file, and reads back', async () => {
    const file = path.join(work, 'a.profile');
    await host.writeFile(file, 'one\n');
    await host.writeFile(file, 'two\n', { mode: 0o600 });
    expect(await host.readFile(file)).toBe('two\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(work).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('reads a missing file as undefined and refuses relative or unnormalised paths', async () => {
    expect(await host.readFile(path.join(work, 'missing'))).toBeUndefined();
    await expect(host.readFile('relative/file')).rejects.toThrow(/absolute and normalised/);
    await expect(host.writeFile(`${work}/../x`, 'x')).rejects.toThrow(/absolute and normalised/);
  });

  it('stats files, directories, devices and missing paths', async () => {
    expect(await host.stat(work)).toMatchObject({ exists: true, type: 'directory' });
    expect(await host.stat('/dev/null')).toMatchObject({ exists: true, type: 'character-device' });
    expect(await host.stat(path.join(work, 'missing', 'x'))).toEqual({ exists: false });
  });
});

describe('NsenterHost', () => {
  it('maps host paths under the host-root mount', async () => {
    const root = path.join(work, 'hostroot');
    mkdirSync(path.join(root, 'etc/lvm/profile'), { recursive: true });
    writeFileSync(path.join(root, 'etc/hostname'), 'node-1\n');
    const host = new NsenterHost({ hostRoot: root });
    expect(await host.readFile('/etc/hostname')).toBe('node-1\n');
    await host.writeFile('/etc/lvm/profile/x.profile', 'p\n');
    expect(readFileSync(path.join(root, 'etc/lvm/profile/x.profile'), 'utf8')).toBe('p\n');
    expect(await host.stat('/etc/lvm')).toMatchObject({ type: 'directory' });
  });

  it('runs commands through nsenter into PID 1 namespaces, reporting the logical command', async () => {
    const host = new NsenterHost({ hostRoot: work });
    const outcome = await host.run(['echo', 'hi']).catch((e: unknown) => e);
    // Unprivileged here (nsenter itself refuses), privileged elsewhere: either way nsenter ran it.
    if (outcome instanceof CommandError) {
      expect(outcome.argv).toEqual(['echo', 'hi']);
      expect(outcome.stderr).toMatch(/^nsenter: /);
    } else {
      expect(outcome).toMatchObject({ argv: ['echo', 'hi'], stdout: 'hi\n' });
    }
  });
});

describe('isMutatingCommand', () => {
  it('knows the read-only commands and treats everything else as mutating', () => {
    for (const argv of [
      ['lvm', 'fullreport', '--all'],
      ['lsblk', '--json'],
      ['losetup', '--list', '--json'],
      ['wipefs', '--json', '/dev/vdb'],
      ['realpath', '--', '/dev/vda'],
      ['dmsetup', 'status'],
      ['lvm', 'lastlog'],
      ['pgrep', '-x', 'dockerd'],
      ['test', '-d', '/proc/1'],
      ['docker', 'info', '--format', '{{json .}}'],
      ['/usr/bin/docker', 'info'],
      ['ctr', '--address', '/run/containerd/containerd.sock', '--connect-timeout', '2s', 'plugins', 'ls'],
      ['ctr', 'version'],
      ['dmsetup', 'wait', 'docker-thinpool-tpool', '3'],
      ['dmsetup', 'info', '-c', '--noheadings', '-o', 'events', 'docker-thinpool-tpool'],
      ['dmsetup', 'ls'],
      ['blkid', '/dev/vdb'],
      ['wipefs', '--no-act', '--all', '/dev/vdb'],
      ['wipefs', '-n', '-a', '/dev/vdb'],
      ['losetup', '-j', '/var/lib/docker/devicemapper/data'],
      ['losetup', '--associated', '/x', '--json'],
      ['losetup', '-l', '-O', 'NAME,BACK-FILE', '--noheadings'],
      ['losetup', '--all'],
      ['losetup'],
      ['systemctl', 'is-active', 'docker'],
    ]) {
      expect([argv, isMutatingCommand(argv)]).toEqual([argv, false]);
    }
    for (const argv of [
      ['pvcreate', '/dev/vdb'],
      ['wipefs', '--all', '/dev/vdb'],
      ['losetup', '/dev/loop0', '/x'],
      ['losetup', '-c', '/dev/loop0'],
      ['lvm', 'lvcreate'],
      ['lvm'],
      ['dmsetup', 'remove', 'x'],
      ['dmsetup', 'message', 'x', '0', 'reserve_metadata_snap'],
      ['losetup', '--find', '--show', '/x'],
      ['losetup', '-d', '/dev/loop0'],
      ['losetup', '-j', '/x', '/dev/loop1'],
      ['docker', 'rm', '-f', 'c'],
      ['ctr', 'plugins', 'rm', 'x'],
      ['ctr', 'images', 'pull', 'x'],
      ['systemctl', 'restart', 'docker'],
      ['some-unknown-tool'],
    ]) {
      expect([argv, isMutatingCommand(argv)]).toEqual([argv, true]);
    }
  });
});

/** A winston stream transport that keeps the JSON lines. */
function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return {
    lines,
    logger: winston.createLogger({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream })],
    }),
  };
}

describe('LoggedHost', () => {
  it('logs each mutating command before and after, and failures with exit code and stderr', async () => {
    const capture = captureLogs();
    const host = new LoggedHost(new LocalHost(), capture.logger);
    await host.run(['true']);
    await host.run(['sh', '-c', 'exit 0']);
    await host.run(['sh', '-c', 'echo boom >&2; exit 4']).catch(() => undefined);
    await host.writeFile(path.join(work, 'logged'), 'x');
    expect(capture.lines.map((l) => [l.level, l.message, l.command ?? l.path])).toEqual([
      ['info', 'Started host command', "sh -c 'exit 0'"],
      ['info', 'Completed host command', "sh -c 'exit 0'"],
      ['info', 'Started host command', "sh -c 'echo boom >&2; exit 4'"],
      ['error', 'Failed host command', "sh -c 'echo boom >&2; exit 4'"],
      ['info', 'Started host file write', path.join(work, 'logged')],
      ['info', 'Wrote host file', path.join(work, 'logged')],
    ]);
    expect(capture.lines[3]).toMatchObject({ exitCode: 4, stderr: 'boom' });
  });
});

describe('LoggedHost with the lvm shell', () => {
  /** Answers `lvm` with a shell's recorded output. */
  const recordedShell = (stdout: string, stderr = ''): Host => ({
    kind: 'recorded',
    run: async (argv) => ({ argv, exitCode: 0, stdout, stderr, durationMs: 12 }),
    readFile: async () => undefined,
    writeFile: async () => undefined,
    stat: async () => ({ exists: false }),
  });

  it('logs each mutating command of the shell as its own, with its exit code; reports at debug only', async () => {
    const capture = captureLogs();
    const host = new LoggedHost(recordedShell(fixture('shell-pvcreate.txt')), capture.logger);
    await runLvmShell(host, [['pvcreate', '/dev/vdd'], [...LASTLOG], fullReportArgv()]);
    expect(capture.lines.map((l) => [l.level, l.message, l.command, l.exitCode])).toEqual([
      ['info', 'Started host command', 'pvcreate /dev/vdd', undefined],
      ['info', 'Completed host command', 'pvcreate /dev/vdd', 0],
    ]);
    expect(capture.lines[1]).toMatchObject({ via: 'lvm shell', durationMs: 12 });
  });

  it("logs a failed command of the shell with LVM's return code and messages", async () => {
    const capture = captureLogs();
    const host = new LoggedHost(recordedShell(fixture('shell-vgcreate-fails.txt')), capture.logger);
    const vgcreate = ['vgcreate', '--addtag', 'thinpool.dev/managed', 'docker', '/dev/nonexistent'];
    await host.run(['lvm'], { input: lvmShellInput([vgcreate, [...LASTLOG], fullReportArgv()]) });
    expect(capture.lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'Started host command'],
      ['error', 'Failed host command'],
    ]);
    expect(capture.lines[1]).toMatchObject({
      command: 'vgcreate --addtag thinpool.dev/managed docker /dev/nonexistent',
      exitCode: 5,
      stderr: 'No device found for /dev/nonexistent.',
    });
  });

  it('logs a command whose answer a prompt ate as failed, with the prompt from stderr', async () => {
    const capture = captureLogs();
    const stderr = fixture('shell-lvcreate-prompt-stderr.txt');
    const host = new LoggedHost(recordedShell(fixture('shell-pvcreate.txt'), stderr), capture.logger);
    // The recorded answer is about pvcreate: for vgcreate there is none.
    await host.run(['lvm'], { input: lvmShellInput([['vgcreate', 'docker', '/dev/vdd']]) });
    expect(capture.lines[1]).toMatchObject({
      level: 'error',
      message: 'Failed host command',
      reason: 'no answer from the lvm shell',
      stderr: stderr.trim(),
    });
  });
});

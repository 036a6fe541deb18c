import { describe, expect, it } from '@jest/globals';
import { CommandError, type CommandSession } from '../../node-agent/host/host.js';
import { LocalHost } from '../../node-agent/host/local-host.js';
import { LvmShellSession, parseLvmShellOutput } from '../../node-agent/lvm/shell.js';
import { waitFor } from '../support/wait.js';
import { fixture } from './support/fixtures.js';

/**
 * A line-at-a-time process for the session tests (fixed script, nothing interpolated): answers each line
 * with `<pid> <line>`, asks `Sure? [y/n]: ` on stderr for `ask` and echoes the answer, exits 3 on `quit`,
 * sleeps on `sleep`.
 */
const ECHO = [
  'bash',
  '-c',
  [
    'while read -r line; do',
    '  case "$line" in',
    '    ask) printf "Sure? [y/n]: " >&2; read -r answer; echo "$$ answered $answer" ;;',
    '    quit) exit 3 ;;',
    '    sleep) sleep 30 ;;',
    '    *) echo "$$ $line" ;;',
    '  esac',
    'done',
  ].join('\n'),
];

/** A session answered by one line of output, answering every question "n". */
function lineSession(): CommandSession & { close(): void } {
  const controller = new AbortController();
  return {
    closed: controller.signal,
    answered: (stdout) => stdout.endsWith('\n'),
    reply: (stderr) => (stderr.endsWith('[y/n]: ') ? 'n\n' : undefined),
    close: () => controller.abort(),
  };
}

const alive = (pid: string) => {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
};

describe('command sessions on the local host (real processes)', () => {
  const host = new LocalHost();

  it('runs every call in one process and answers its questions through reply', async () => {
    const session = lineSession();
    const first = await host.run(ECHO, { session, input: 'one\n' });
    const second = await host.run(ECHO, { session, input: 'two\n' });
    const asked = await host.run(ECHO, { session, input: 'ask\n' });
    const [pid] = first.stdout.split(' ');
    expect(first).toMatchObject({ exitCode: 0, stdout: `${pid} one\n`, argv: ECHO });
    expect(second.stdout).toBe(`${pid} two\n`);
    expect(asked).toMatchObject({ stdout: `${pid} answered n\n`, stderr: 'Sure? [y/n]: ' });
    session.close();
    await waitFor(() => !alive(pid!), 'the closed session’s process to end', 10_000, 50);
  });

  it('rejects a call whose process exits before answering, with its exit code; the next call starts anew', async () => {
    const session = lineSession();
    const before = await host.run(ECHO, { session, input: 'one\n' });
    const error = await host.run(ECHO, { session, input: 'quit\n' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ exitCode: 3, argv: ECHO });
    const after = await host.run(ECHO, { session, input: 'one\n' });
    expect(after.stdout.split(' ')[0]).not.toBe(before.stdout.split(' ')[0]);
    session.close();
  });

  it('kills the process of a call that times out or is aborted', async () => {
    for (const options of [() => ({ timeoutMs: 300 }), () => ({ signal: AbortSignal.timeout(300) })]) {
      const session = lineSession();
      const { stdout } = await host.run(ECHO, { session, input: 'one\n' });
      const error = await host
        .run(ECHO, { session, input: 'sleep\n', ...options() })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ reason: 'timeoutMs' in options() ? 'timeout' : 'aborted' });
      await waitFor(() => !alive(stdout.split(' ')[0]!), 'the killed process to end', 10_000, 50);
      session.close();
    }
  });

  it('refuses a call on a closed session and a second call while one runs', async () => {
    const session = lineSession();
    const running = host.run(ECHO, { session, input: 'sleep\n', timeoutMs: 2_000 }).catch(() => undefined);
    await expect(host.run(ECHO, { session, input: 'one\n' })).rejects.toThrow(/still running/);
    session.close();
    await running;
    await expect(host.run(ECHO, { session, input: 'one\n' })).rejects.toMatchObject({
      reason: 'session closed',
    });
  });

  it('reports a program that does not exist', async () => {
    const session = lineSession();
    await expect(host.run(['no-such-program-here'], { session, input: 'x\n' })).rejects.toMatchObject({
      reason: 'not found',
    });
  });
});

describe('LvmShellSession', () => {
  it('is answered when every command of the call printed its JSON object', () => {
    const session = new LvmShellSession();
    session.expected = 2;
    expect(session.answered('lvm> {"log": [{"a": "}"}]}')).toBe(false);
    expect(session.answered('{"log": []}\n{"report": [], "log": [')).toBe(false);
    expect(session.answered('{"log": []}\n{"report": [], "log": []}\n')).toBe(true);
  });

  it('answers every LVM question "no" and nothing else', () => {
    const session = new LvmShellSession();
    expect(
      session.reply('WARNING: ext4 signature detected on /dev/vdc at offset 1080. Wipe it? [y/n]: '),
    ).toBe('n\n');
    expect(session.reply('  WARNING: Not using device /dev/vdc.\n')).toBeUndefined();
    expect(session.closed.aborted).toBe(false);
    session.close();
    expect(session.closed.aborted).toBe(true);
  });

  it('takes the messages of a lastlog sent on its own (recorded from lvm 2.03.16)', () => {
    const [, lastlog] = parseLvmShellOutput(fixture('shell-vgcreate-fails.txt'), [
      ['vgcreate', 'docker', '/dev/nonexistent'],
      ['lvm', 'lastlog'],
    ]);
    const alone = parseLvmShellOutput(lastlog!.stdout, [['lvm', 'lastlog']]);
    expect(alone).toHaveLength(1);
    expect(alone[0]!.messages).toContain('No device found for /dev/nonexistent.');
  });
});

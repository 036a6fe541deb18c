/**
 * The behaviour of command sessions (`RunOptions.session`) on any `Host`, written once and run three
 * times: on the local host (test/agent/session.test.ts, execa), against the guest agent running locally
 * behind the real broker (test/vm/guest-host.test.ts, no VM) and against the real guest
 * (test/vm/session.vm.test.ts).
 */
import { expect, it } from '@jest/globals';
import { CommandError, type CommandSession, type Host } from '../../node-agent/host/host.js';
import { waitFor } from './wait.js';

/**
 * A line-at-a-time process (fixed script, nothing interpolated): answers each line with `<pid> <line>`,
 * asks `Sure? [y/n]: ` on stderr for `ask` and echoes the answer, prints `é` split across two writes for
 * `split`, exits 3 on `quit`, sleeps on `sleep`.
 */
export const ECHO_SESSION_ARGV: readonly string[] = [
  'bash',
  '-c',
  [
    'while read -r line; do',
    '  case "$line" in',
    '    ask) printf "Sure? [y/n]: " >&2; read -r answer; echo "$$ answered $answer" ;;',
    "    split) printf '%s \\303' $$; sleep 0.2; printf '\\251\\n' ;;",
    '    quit) exit 3 ;;',
    '    sleep) sleep 60 ;;',
    '    *) echo "$$ $line" ;;',
    '  esac',
    'done',
  ].join('\n'),
];

/** A session answered by one line of output, answering every `[y/n]` question "n". */
export function lineSession(): CommandSession & { close(): void } {
  const controller = new AbortController();
  return {
    closed: controller.signal,
    answered: (stdout) => stdout.endsWith('\n'),
    reply: (stderr) => (stderr.endsWith('[y/n]: ') ? 'n\n' : undefined),
    close: () => controller.abort(),
  };
}

/** The PID a line of {@link ECHO_SESSION_ARGV} starts with. */
export function pidOf(stdout: string): number {
  const pid = Number(stdout.split(' ')[0]);
  if (!(pid > 0)) throw new Error(`No PID at the start of ${JSON.stringify(stdout)}`);
  return pid;
}

/** True while `pid` is a live process (not gone, not a zombie) where `vm` runs its commands. */
export async function isRunning(vm: Host, pid: number): Promise<boolean> {
  const stat = await vm.readFile(`/proc/${pid}/stat`);
  return stat !== undefined && stat.split(') ')[1]?.[0] !== 'Z';
}

/** Waits until `pid` is gone. */
export async function waitGone(vm: Host, pid: number, what: string): Promise<void> {
  await waitFor(async () => !(await isRunning(vm, pid)), what, 30_000, 50);
}

/** Declares the session tests; `vm` is read inside each test. */
export function sessionTests(vm: () => Host): void {
  it('runs every call in one process and answers its questions through reply', async () => {
    const session = lineSession();
    const first = await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' });
    const second = await vm().run(ECHO_SESSION_ARGV, { session, input: 'two\n' });
    const asked = await vm().run(ECHO_SESSION_ARGV, { session, input: 'ask\n' });
    const pid = pidOf(first.stdout);
    expect(first).toMatchObject({ argv: ECHO_SESSION_ARGV, exitCode: 0, stdout: `${pid} one\n`, stderr: '' });
    expect(second.stdout).toBe(`${pid} two\n`);
    expect(asked).toMatchObject({ stdout: `${pid} answered n\n`, stderr: 'Sure? [y/n]: ' });
    session.close();
    await waitGone(vm(), pid, 'the closed session’s process to end');
  });

  it('keeps a character whose bytes arrive in two output chunks', async () => {
    const session = lineSession();
    const { stdout } = await vm().run(ECHO_SESSION_ARGV, { session, input: 'split\n' });
    expect(stdout).toBe(`${pidOf(stdout)} é\n`);
    session.close();
  });

  it('rejects a call whose process exits before answering, with its exit code; the next call starts anew', async () => {
    const session = lineSession();
    const before = pidOf((await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
    const error = await vm()
      .run(ECHO_SESSION_ARGV, { session, input: 'quit\n' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ argv: ECHO_SESSION_ARGV, exitCode: 3 });
    const after = pidOf((await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
    expect(after).not.toBe(before);
    expect(await isRunning(vm(), before)).toBe(false);
    session.close();
  });

  it('kills the process of a call that times out, and of one that is aborted', async () => {
    for (const [options, reason] of [
      [() => ({ timeoutMs: 300 }), 'timeout'],
      [() => ({ signal: AbortSignal.timeout(300) }), 'aborted'],
    ] as const) {
      const session = lineSession();
      const pid = pidOf((await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
      const error = await vm()
        .run(ECHO_SESSION_ARGV, { session, input: 'sleep\n', ...options() })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandError);
      expect(error).toMatchObject({ exitCode: undefined, reason });
      await waitGone(vm(), pid, `the process of the call that ended by ${reason} to end`);
      const next = pidOf((await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
      expect(next).not.toBe(pid);
      session.close();
    }
  });

  it('ends the process when the session is closed, and refuses later calls', async () => {
    const session = lineSession();
    const pid = pidOf((await vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).stdout);
    expect(await isRunning(vm(), pid)).toBe(true);
    session.close();
    await waitGone(vm(), pid, 'the closed session’s process to end');
    await expect(vm().run(ECHO_SESSION_ARGV, { session, input: 'one\n' })).rejects.toMatchObject({
      reason: 'session closed',
    });
  });

  it('reports a program that does not exist', async () => {
    const session = lineSession();
    await expect(vm().run(['no-such-program-thinpool'], { session, input: 'x\n' })).rejects.toMatchObject({
      exitCode: undefined,
      reason: 'not found',
    });
    session.close();
  });

  it('keeps the sessions of one host apart', async () => {
    const [a, b] = [lineSession(), lineSession()];
    const [first, second] = await Promise.all([
      vm().run(ECHO_SESSION_ARGV, { session: a, input: 'a\n' }),
      vm().run(ECHO_SESSION_ARGV, { session: b, input: 'b\n' }),
    ]);
    expect(first.stdout).toMatch(/^\d+ a\n$/);
    expect(second.stdout).toMatch(/^\d+ b\n$/);
    expect(pidOf(first.stdout)).not.toBe(pidOf(second.stdout));
    a.close();
    b.close();
  });
}

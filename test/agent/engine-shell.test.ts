import { describe, expect, it } from '@jest/globals';
import { toAgentSpec } from '../../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../../node-agent/engine.js';
import {
  CommandError,
  type CommandSession,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
} from '../../node-agent/host/host.js';
import {
  isLvmShellRun,
  lvmShellCommands,
  LvmShellSession,
  splitJsonObjects,
} from '../../node-agent/lvm/shell.js';
import { fixture, thinPoolSpec } from './support/fixtures.js';
import { quietLog } from './support/guest-agent.js';

const LVMDBUSD = 'report {\n\toutput_format=json\n}\nlog {\n\treport_command_log=1\n}\n';

/**
 * A blank node answering with output recorded from real LVM (test/fixtures/lvm). Its lvm shell answers
 * the first step (`pvcreate`) with its recorded success and every later one with the recorded failure of
 * a `vgcreate` (each recording holds the answers to the step, `lastlog` and `fullreport`, in that order),
 * or, when `shell` is `missing`, fails like an lvm whose profile is missing.
 */
class RecordedNode implements Host {
  readonly kind = 'recorded';
  /** What ran: `shell: <commands>` for a shell run, else the first two words. */
  readonly ran: string[] = [];
  /** The session of each shell run. */
  readonly sessions: (CommandSession | undefined)[] = [];
  private steps = 0;

  constructor(private readonly shell: 'works' | 'missing' | 'no-profile' = 'works') {}

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const out = (stdout: string): RunResult => ({ argv, exitCode: 0, stdout, stderr: '', durationMs: 1 });
    if (isLvmShellRun(argv, options?.input)) {
      const commands = lvmShellCommands(options.input);
      this.ran.push(`shell: ${commands.map((c) => c.slice(0, 2).join(' ')).join(', ')}`);
      this.sessions.push(options.session);
      if (this.shell === 'missing') {
        const stderr = fixture('shell-profile-missing-stderr.txt');
        throw new CommandError({ argv, exitCode: 5, stdout: '', stderr });
      }
      const answers = commands.map((c) => {
        if (c[0] !== 'lvm') this.steps++;
        const recorded = splitJsonObjects(
          fixture(this.steps === 1 ? 'shell-pvcreate.txt' : 'shell-vgcreate-fails.txt'),
        );
        return recorded[c[1] === 'lastlog' ? 1 : c[1] === 'fullreport' ? 2 : 0];
      });
      return out(answers.join('\n'));
    }
    this.ran.push(argv.slice(0, 2).join(' '));
    const [program] = argv;
    if (program === 'lvm') return out(fixture('fullreport-blank.json'));
    if (program === 'lsblk') return out(fixture('lsblk-blank.json'));
    if (program === 'realpath') return out(`${argv.slice(3).join('\n')}\n`);
    if (program === 'wipefs') return out(fixture('wipefs-blank.json'));
    if (program === 'pvcreate') return out('');
    throw new CommandError({ argv, exitCode: 5, stderr: 'this recorded node takes no more changes' });
  }

  async readFile(path: string): Promise<string | undefined> {
    return path === '/etc/lvm/profile/lvmdbusd.profile' && this.shell !== 'no-profile' ? LVMDBUSD : undefined;
  }

  async writeFile(): Promise<void> {
    throw new Error('not reached');
  }

  async stat(): Promise<FileStat> {
    return { exists: true, type: 'block-device', sizeBytes: 1 << 30, mode: 0o660, mtimeMs: 0 };
  }
}

const engineOn = (host: Host, lvmShell?: boolean) =>
  new ThinPoolEngine({
    host,
    spec: toAgentSpec('docker', thinPoolSpec({ devices: [{ path: '/dev/vda' }] })),
    log: quietLog,
    lvmShell,
  });

const FIRST_OBSERVATION = [
  'lvm fullreport',
  'lsblk --json',
  'realpath --canonicalize-missing',
  'wipefs --json',
];

describe('ThinPoolEngine with the lvm shell (recorded answers)', () => {
  it('runs the steps and their re-observations in one shell session, and fails a step with its exit code and messages', async () => {
    const node = new RecordedNode();
    const report = await engineOn(node, true).apply();
    expect(report.outcome).toBe('failed');
    expect(report.executed.map((e) => e.action.kind)).toEqual(['create-pv']);
    expect(report.observed.lvm.pvs).toEqual([]); // the whole snapshot taken after the failure
    expect(report.failure?.message).toBe(
      'Command failed (exit code 5): vgcreate --addtag thinpool.dev/managed docker /dev/vda: ' +
        'No device found for /dev/nonexistent.',
    );
    expect(node.ran.slice(FIRST_OBSERVATION.length)).toEqual([
      'shell: pvcreate /dev/vda',
      'shell: lvm fullreport',
      'shell: vgcreate --addtag',
      'shell: lvm lastlog',
      ...FIRST_OBSERVATION,
    ]);
    const [session] = node.sessions;
    expect(session).toBeInstanceOf(LvmShellSession);
    expect(node.sessions.every((s) => s === session)).toBe(true);
    expect(session!.closed.aborted).toBe(true); // the apply ended its shell
  });

  it('runs every command as its own process by default or when the shell profile is missing', async () => {
    for (const [node, lvmShell] of [
      [new RecordedNode(), undefined],
      [new RecordedNode('no-profile'), true],
    ] as const) {
      await engineOn(node, lvmShell).apply();
      expect(node.ran.filter((r) => r.startsWith('shell'))).toEqual([]);
      expect(node.ran.slice(FIRST_OBSERVATION.length, FIRST_OBSERVATION.length + 3)).toEqual([
        'pvcreate /dev/vda',
        'lvm fullreport',
        'vgcreate --addtag',
      ]);
    }
  });

  it('runs the step on its own when the shell cannot start, and does not try the shell again', async () => {
    const node = new RecordedNode('missing');
    await engineOn(node, true).apply();
    expect(node.ran.slice(FIRST_OBSERVATION.length, FIRST_OBSERVATION.length + 4)).toEqual([
      'shell: pvcreate /dev/vda',
      'pvcreate /dev/vda',
      'lvm fullreport',
      'vgcreate --addtag',
    ]);
  });
});

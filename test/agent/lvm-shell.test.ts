import { describe, expect, it } from '@jest/globals';
import { CommandError, type Host, type RunOptions, type RunResult } from '../../node-agent/host/host.js';
import { fullReportArgv } from '../../node-agent/lvm/commands.js';
import { parseFullReport } from '../../node-agent/lvm/report.js';
import {
  isLvmShellRun,
  isUsableShellProfile,
  LASTLOG,
  LVM_SHELL_ENV,
  lvmShellCommands,
  lvmShellInput,
  lvmShellLine,
  LvmShellUnavailable,
  parseLvmShellOutput,
  runLvmShell,
  splitJsonObjects,
} from '../../node-agent/lvm/shell.js';
import { fixture } from './support/fixtures.js';

const PVCREATE = ['pvcreate', '/dev/vdd'];
const VGCREATE = ['vgcreate', '--addtag', 'thinpool.dev/managed', 'docker', '/dev/nonexistent'];
const LVCREATE = [
  'lvcreate',
  '--wipesignatures',
  'y',
  '--addtag',
  'thinpool.dev/managed',
  '-n',
  'thinpool',
  'docker',
  '-l',
  '95%VG',
];

describe('lvm shell input', () => {
  it('sends LVM commands whose words the shell reads back unchanged, and nothing else', () => {
    expect(lvmShellLine(['lvchange', '--monitor', 'y', 'docker/thinpool'])).toBe(
      'lvchange --monitor y docker/thinpool',
    );
    expect(lvmShellLine(fullReportArgv())).toBe(fullReportArgv().join(' '));
    // Not LVM, no subcommand, or a word the shell would split or treat as a comment.
    expect(lvmShellLine(['wipefs', '--all', '/dev/vdb'])).toBeUndefined();
    expect(lvmShellLine(['lvm'])).toBeUndefined();
    expect(lvmShellLine(['pvcreate', '/dev/disk/by-id/a b'])).toBeUndefined();
    expect(lvmShellLine(['pvcreate', '/dev/vdb\nvgremove -y other'])).toBeUndefined();
    expect(lvmShellLine(['pvcreate', '#x'])).toBeUndefined();
    expect(lvmShellLine(['pvcreate', "/dev/it's"])).toBeUndefined();
  });

  it('renders one line per command and decodes them back', () => {
    const commands = [PVCREATE, [...LASTLOG], fullReportArgv()];
    const input = lvmShellInput(commands);
    expect(input.split('\n')).toHaveLength(4);
    expect(lvmShellCommands(input)).toEqual(commands);
    expect(isLvmShellRun(['lvm'], input)).toBe(true);
    expect(isLvmShellRun(['lvm'], undefined)).toBe(false);
    expect(isLvmShellRun(['lvm', 'fullreport'], input)).toBe(false);
  });

  it('refuses a command after the first that could answer a prompt "yes", or one it cannot send', () => {
    expect(() => lvmShellInput([PVCREATE, ['lvchange', '--monitor', 'y', 'docker/thinpool']])).toThrow(
      /after the first command/,
    );
    expect(() => lvmShellInput([['pvcreate', 'a b']])).toThrow(/Refused to send/);
  });
});

describe('isUsableShellProfile', () => {
  it('accepts a profile that turns on JSON output and the command log, and nothing less', () => {
    const lvmdbusd = 'report {\n\toutput_format=json\n}\nlog {\n\treport_command_log=1\n}\n';
    expect(isUsableShellProfile(lvmdbusd)).toBe(true);
    expect(
      isUsableShellProfile('report {\n output_format = "json"\n}\nlog {\n report_command_log = 1\n}'),
    ).toBe(true);
    expect(isUsableShellProfile('report {\n\toutput_format=basic\n}\nlog {\n\treport_command_log=1\n}')).toBe(
      false,
    );
    expect(isUsableShellProfile('report {\n# output_format=json\n}\nlog {\nreport_command_log=1\n}')).toBe(
      false,
    );
    expect(isUsableShellProfile(undefined)).toBe(false);
  });
});

describe('splitJsonObjects', () => {
  it('splits concatenated objects, ignoring braces inside strings', () => {
    expect(splitJsonObjects('  {"a":"}{"}\n{"b":{"c":1}}\nnoise\n{}')).toEqual([
      '{"a":"}{"}',
      '{"b":{"c":1}}',
      '{}',
    ]);
    expect(splitJsonObjects('{"a":"\\"}"}')).toEqual(['{"a":"\\"}"}']);
  });
});

describe('parseLvmShellOutput (recorded from lvm 2.03.16 in the VM)', () => {
  it('gives a successful step its exit code 0 and the report after it', () => {
    const commands = [PVCREATE, [...LASTLOG], fullReportArgv()];
    const [step, lastlog, report] = parseLvmShellOutput(fixture('shell-pvcreate.txt'), commands);
    expect(step).toMatchObject({ argv: PVCREATE, exitCode: 0, messages: [] });
    expect(lastlog?.exitCode).toBe(0);
    expect(report?.exitCode).toBe(0);
    expect(parseFullReport(report!.stdout).pvs).toMatchObject([{ name: '/dev/vdd', vgName: '' }]);
  });

  it("gives a failed step LVM's return code and the error messages of its log", () => {
    const commands = [VGCREATE, [...LASTLOG], fullReportArgv()];
    const results = parseLvmShellOutput(fixture('shell-vgcreate-fails.txt'), commands);
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ exitCode: 5, messages: ['No device found for /dev/nonexistent.'] });
    expect(parseFullReport(results[2]!.stdout).vgs).toEqual([]);
  });

  it('stops at a step whose prompt ate the lines after it (answered "no", as without stdin)', () => {
    const commands = [LVCREATE, [...LASTLOG], fullReportArgv()];
    const results = parseLvmShellOutput(fixture('shell-lvcreate-prompt.txt'), commands);
    expect(results).toEqual([expect.objectContaining({ argv: LVCREATE, exitCode: 5 })]);
    expect(fixture('shell-lvcreate-prompt-stderr.txt')).toMatch(/Wipe it\? \[y\/n\]: \[n\]/);
  });

  it('matches nothing to an answer about another command, or to output that is not JSON', () => {
    expect(parseLvmShellOutput(fixture('shell-pvcreate.txt'), [VGCREATE])).toEqual([]);
    expect(parseLvmShellOutput('  PV  VG\n  /dev/vdd\n', [PVCREATE])).toEqual([]);
  });
});

/** A host whose `lvm` answers with recorded output (or fails like lvm without its profile). */
class RecordedShellHost implements Host {
  readonly kind = 'recorded';
  readonly calls: { argv: readonly string[]; options?: RunOptions }[] = [];

  constructor(private readonly answer: () => RunResult) {}

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.calls.push({ argv, options });
    return this.answer();
  }

  async readFile(): Promise<string | undefined> {
    return undefined;
  }

  async writeFile(): Promise<void> {}

  async stat(): Promise<never> {
    throw new Error('not used');
  }
}

describe('runLvmShell', () => {
  it('runs `lvm` once with the commands on stdin and the lvmdbusd command profile', async () => {
    const host = new RecordedShellHost(() => ({
      argv: ['lvm'],
      exitCode: 0,
      stdout: fixture('shell-pvcreate.txt'),
      stderr: '',
      durationMs: 1,
    }));
    const commands = [PVCREATE, [...LASTLOG], fullReportArgv()];
    const { results } = await runLvmShell(host, commands);
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    expect(host.calls).toHaveLength(1);
    expect(host.calls[0]!.argv).toEqual(['lvm']);
    expect(host.calls[0]!.options).toMatchObject({ input: lvmShellInput(commands), env: LVM_SHELL_ENV });
  });

  it('reports a shell that answered nothing and exited non-zero as unavailable: nothing ran', async () => {
    const stderr = fixture('shell-profile-missing-stderr.txt');
    const host = new RecordedShellHost(() => {
      throw new CommandError({ argv: ['lvm'], exitCode: 5, stdout: '', stderr });
    });
    const error = await runLvmShell(host, [PVCREATE]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LvmShellUnavailable);
    expect((error as Error).message).toMatch(/Failed to apply command profile/);
  });

  it('passes a timeout or abort of the shell on as the command error it is', async () => {
    const host = new RecordedShellHost(() => {
      throw new CommandError({ argv: ['lvm'], exitCode: undefined, cause: 'timeout' });
    });
    const error = await runLvmShell(host, [PVCREATE]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).reason).toBe('timeout');
  });
});

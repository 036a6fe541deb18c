import { describe, expect, it } from '@jest/globals';
import { toAgentSpec } from '../../node-agent/agent-spec.js';
import type { FileStat, Host, RunOptions, RunResult } from '../../node-agent/host/host.js';
import { observe } from '../../node-agent/observe/observe.js';
import { fixture, thinPoolSpec } from './support/fixtures.js';

/**
 * A node answering with output recorded from real LVM (test/fixtures/lvm): `/dev/vda` is a PV of VG
 * docker in the `pool` state, a blank disk in the `blank` state. It records when each command started
 * and how many had finished by then.
 */
class RecordedNode implements Host {
  readonly kind = 'recorded';
  readonly started: { command: string; finishedBefore: number }[] = [];
  private finished = 0;

  constructor(private readonly state: 'pool' | 'blank') {}

  async run(argv: readonly string[], _options?: RunOptions): Promise<RunResult> {
    this.started.push({ command: argv.slice(0, 2).join(' '), finishedBefore: this.finished });
    await new Promise((resolve) => setTimeout(resolve, 1));
    const [program] = argv;
    const pool = this.state === 'pool';
    let stdout: string;
    if (program === 'lvm') stdout = fixture(pool ? 'fullreport-used.json' : 'fullreport-blank.json');
    else if (program === 'lsblk') stdout = fixture(pool ? 'lsblk-used.json' : 'lsblk-blank.json');
    else if (program === 'losetup') stdout = fixture('losetup-none.json');
    else if (program === 'realpath') stdout = `${argv.slice(3).join('\n')}\n`;
    else if (program === 'wipefs') stdout = fixture(pool ? 'wipefs-lvm2-member.json' : 'wipefs-ext4.json');
    else throw new Error(`unexpected ${argv.join(' ')}`);
    this.finished++;
    return { argv, exitCode: 0, stdout, stderr: '', durationMs: 1 };
  }

  async readFile(): Promise<string | undefined> {
    return undefined;
  }

  async writeFile(): Promise<void> {
    throw new Error('observe never writes');
  }

  async stat(): Promise<FileStat> {
    return { exists: true, type: 'block-device', sizeBytes: 1 << 30, mode: 0o660, mtimeMs: 0 };
  }
}

const spec = toAgentSpec('docker', thinPoolSpec({ devices: [{ path: '/dev/vda' }] }));
const wipefsCalls = (node: RecordedNode) => node.started.filter((s) => s.command === 'wipefs --json');

describe('observe', () => {
  it('reads the signatures of a new device together with the other reads, not after them', async () => {
    const node = new RecordedNode('blank');
    const observed = await observe(node, spec);
    expect(observed.devices[0]!.signatures?.map((s) => s.type)).toEqual(['ext4']);
    // No losetup: direct mode does not use loop devices.
    expect(node.started.map((s) => s.command).sort()).toEqual([
      'lsblk --json',
      'lvm fullreport',
      'realpath --canonicalize-missing',
      'wipefs --json',
    ]);
    expect(node.started.every((s) => s.finishedBefore === 0)).toBe(true);
  });

  it('drops the signatures read ahead for a device that turns out to be our PV', async () => {
    const node = new RecordedNode('pool');
    const observed = await observe(node, spec);
    expect(wipefsCalls(node)).toHaveLength(1);
    expect(observed.devices[0]!.signatures).toBeUndefined();
  });

  it('does not read ahead for a device that was our PV, and reads it after all when it no longer is', async () => {
    const steady = new RecordedNode('pool');
    await observe(steady, spec, undefined, { knownPvs: new Set(['/dev/vda']) });
    expect(wipefsCalls(steady)).toEqual([]);
    expect(steady.started).toHaveLength(3);

    const replaced = new RecordedNode('blank');
    const observed = await observe(replaced, spec, undefined, { knownPvs: new Set(['/dev/vda']) });
    expect(wipefsCalls(replaced)).toEqual([{ command: 'wipefs --json', finishedBefore: 3 }]);
    expect(observed.devices[0]!.signatures?.map((s) => s.type)).toEqual(['ext4']);
  });
});

import { expect, it } from '@jest/globals';
import { toAgentSpec } from '../../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../../node-agent/engine.js';
import type { CommandSession, Host, RunOptions, RunResult } from '../../node-agent/host/host.js';
import { fullReportArgv } from '../../node-agent/lvm/commands.js';
import {
  isLvmShellRun,
  LASTLOG,
  LVM_SHELL_PROFILE_PATH,
  LvmShellSession,
  runLvmShell,
} from '../../node-agent/lvm/shell.js';
import { describeVm } from '../vm/guest.js';
import { thinPoolSpec } from './support/fixtures.js';
import { lvs, quietLog, RecordingHost, useAgentGuest } from './support/guest-agent.js';

/**
 * Counts the processes a host starts: lvm shells (one per session, or one per run without a session), and
 * other commands by their first two words; `shellCalls` counts the runs sent to shells.
 */
class ProcessCounter extends RecordingHost {
  readonly processes: string[] = [];
  shellCalls = 0;
  private readonly sessions = new Set<CommandSession>();

  override run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (!isLvmShellRun(argv, options?.input)) this.processes.push(argv.slice(0, 2).join(' '));
    else {
      this.shellCalls++;
      if (!options?.session || !this.sessions.has(options.session)) this.processes.push('lvm shell');
      if (options?.session) this.sessions.add(options.session);
    }
    return super.run(argv, options);
  }
}

const engineOn = (host: Host, device: string, lvmShell = true) =>
  new ThinPoolEngine({
    host,
    spec: toAgentSpec('docker', thinPoolSpec({ devices: [{ path: device }] })),
    log: quietLog,
    lvmShell,
  });

const FRESH_POOL_STEPS = (device: string) => [
  `pvcreate ${device}`,
  `vgcreate --addtag thinpool.dev/managed docker ${device}`,
  'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpool docker -l 95%VG',
  'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpoolmeta docker -l 1%VG',
  'lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta',
  'write-file /etc/lvm/profile/docker-thinpool.profile',
  'lvchange --metadataprofile docker-thinpool docker/thinpool',
  'lvchange --monitor y docker/thinpool',
];

describeVm('LVM steps through the lvm shell (lvm 2.03 in the VM)', () => {
  const guest = useAgentGuest();

  it('builds a fresh pool with one lvm shell for the whole apply, the re-observations included', async () => {
    const { vm } = guest;
    const device = vm.disk('disk2').byIdPath;
    await vm.run(['rm', '-f', '/root/.lvm_history']);
    const host = new ProcessCounter(vm);
    const report = await engineOn(host, device).apply();
    expect(report.outcome).toBe('applied');
    expect(host.mutations).toEqual(FRESH_POOL_STEPS(device));
    // The first observation's report, then one shell for the 7 LVM steps and the report after each.
    expect(host.processes.filter((p) => p.startsWith('lvm'))).toEqual(['lvm fullreport', 'lvm shell']);
    expect(host.shellCalls).toBe(14);
    // The apply closed its shell: no lvm process is left in the guest.
    await expect(vm.run(['pgrep', '-x', 'lvm'], { okExitCodes: [1] })).resolves.toMatchObject({
      exitCode: 1,
    });
    const pool = await lvs(vm, 'docker/thinpool');
    expect(pool).toMatchObject({ lv_profile: 'docker-thinpool', seg_monitor: 'monitored' });
    // The last re-observation came from the shell: the engine saw the pool monitored.
    const lv = report.observed.lvm.lvs.find((l) => l.name === 'thinpool');
    expect(lv).toMatchObject({ segtype: 'thin-pool', monitor: 'monitored', profile: 'docker-thinpool' });
    // The shell kept no history of the agent's commands in root's home.
    expect(await vm.stat('/root/.lvm_history')).toEqual({ exists: false });
  });

  it('without the shell profile runs every command as its own process, with the same steps', async () => {
    const { vm } = guest;
    const device = vm.disk('disk2').byIdPath;
    // guest reset restores /etc/lvm as it was at boot.
    await vm.run(['rm', '-f', '--', LVM_SHELL_PROFILE_PATH]);
    const host = new ProcessCounter(vm);
    const report = await engineOn(host, device).apply();
    expect(report.outcome).toBe('applied');
    expect(host.mutations).toEqual(FRESH_POOL_STEPS(device));
    expect(host.processes).not.toContain('lvm shell');
    expect(host.processes.filter((p) => p === 'lvm fullreport')).toHaveLength(8);
  });

  it('fails a step in the shell as it fails on its own: exit code and LVM message, nothing after it', async () => {
    const { vm } = guest;
    const device = vm.disk('disk2').byIdPath;
    const outcomes: string[] = [];
    for (const lvmShell of [true, false]) {
      await vm.reset();
      // A stale /dev/docker (what a udev-less reset can leave) makes vgcreate fail.
      await vm.run(['mkdir', '-p', '/dev/docker']);
      const host = new ProcessCounter(vm);
      const report = await engineOn(host, device, lvmShell).apply();
      expect(report.outcome).toBe('failed');
      expect(host.mutations).toEqual(FRESH_POOL_STEPS(device).slice(0, 2));
      outcomes.push(report.failure!.message);
      await vm.run(['rm', '-rf', '/dev/docker']);
    }
    const [shell, alone] = outcomes as [string, string];
    const exitCode = (message: string) => /^Command failed \(exit code (\d+)\): /.exec(message)?.[1];
    expect(exitCode(shell)).toBeDefined();
    expect(exitCode(shell)).toBe(exitCode(alone));
    for (const message of [shell, alone]) {
      expect(message).toContain(`vgcreate --addtag thinpool.dev/managed docker ${device}`);
      expect(message).toMatch(/\/dev\/docker: already exists in filesystem/);
    }
  });

  it('answers "no" to a prompt in the shell, as a command without stdin does', async () => {
    const { vm } = guest;
    const disk = vm.disk('disk4').byIdPath;
    // An ext4 signature where the next LV starts: lvcreate --wipesignatures y asks before wiping it.
    await vm.run(['vgcreate', 'docker', disk]);
    await vm.run(['lvcreate', '-n', 'old', 'docker', '-L', '64m']);
    await vm.run(['mkfs.ext4', '-q', '/dev/docker/old']);
    await vm.run(['lvremove', '-y', 'docker/old']);
    const lvcreate = ['lvcreate', '--wipesignatures', 'y', '-n', 'thinpool', 'docker', '-l', '50%VG'];
    const { results, stderr } = await runLvmShell(vm, [lvcreate, [...LASTLOG], fullReportArgv()]);
    expect(results).toEqual([expect.objectContaining({ argv: lvcreate, exitCode: 5 })]);
    expect(stderr).toMatch(/ext4 signature detected .* Wipe it\? \[y\/n\]: .*\[n\]/s);
    const left = await vm.run(['lvs', '--noheadings', '-o', 'lv_name', 'docker']);
    expect(left.stdout.trim()).toBe('');

    // In a shell kept open the session answers the question, and the shell goes on with the next call.
    const session = new LvmShellSession();
    try {
      const asked = await runLvmShell(vm, [lvcreate], { session });
      expect(asked.results).toEqual([expect.objectContaining({ argv: lvcreate, exitCode: 5 })]);
      expect(asked.stderr).toMatch(/ext4 signature detected .* Wipe it\? \[y\/n\]: /s);
      const after = await runLvmShell(vm, [fullReportArgv()], { session });
      expect(after.results).toEqual([expect.objectContaining({ exitCode: 0 })]);
      const vgs = JSON.parse(after.results[0]!.stdout) as { report: { lv?: { lv_name: string }[] }[] };
      expect(vgs.report.flatMap((r) => r.lv ?? []).map((lv) => lv.lv_name)).toEqual([]);
    } finally {
      session.close();
    }
  });
});

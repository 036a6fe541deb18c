import { expect, it } from '@jest/globals';
import { toAgentSpec } from '../../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../../node-agent/engine.js';
import { describeVm } from '../vm/guest.js';
import { thinPoolSpec } from './support/fixtures.js';
import { guestScript, lvs, quietLog, useAgentGuest } from './support/guest-agent.js';

const MiB = 1024 * 1024;

describeVm('agent-driven autoextend with dmeventd stopped', () => {
  const guest = useAgentGuest();

  it('keeps data use under 95% during a steady write while the VG has room, and stops at maxDataSize', async () => {
    const { vm } = guest;
    const spec = toAgentSpec(
      'docker',
      thinPoolSpec({
        devices: [{ path: vm.disk('disk1').byIdPath }],
        dataPercent: 10,
        autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true, maxDataSize: '1Gi' },
      }),
    );
    // LVM steps, the extensions included, run through the lvm shell (ADR 0044).
    const engine = new ThinPoolEngine({ host: vm, spec, log: quietLog, lvmShell: true });
    expect((await engine.apply()).outcome).toBe('applied');

    // dmeventd gone for good: unregistered, killed, and LVM cannot start it again.
    await vm.run(['lvchange', '--monitor', 'n', 'docker/thinpool']);
    await guestScript(
      vm,
      'printf "dmeventd {\\n    executable = \\"/bin/false\\"\\n}\\n" >> /etc/lvm/lvmlocal.conf; pkill -9 dmeventd || true',
    );
    expect((await lvs(vm, 'docker/thinpool')).seg_monitor).toBe('not monitored');
    await vm.run(['lvcreate', '-q', '-V', '1200M', '-T', 'docker/thinpool', '-n', 'fill']);

    // 900 MiB in 4 MiB writes, about 8 MiB/s.
    let writing = true;
    const writer = guestScript(
      vm,
      'for i in $(seq 0 224); do dd if=/dev/zero of=/dev/docker/fill bs=4M count=1 seek=$i oflag=direct status=none; sleep 0.5; done',
      600_000,
    ).finally(() => {
      writing = false;
    });
    const extensions: { from: number; to: number; trigger: string }[] = [];
    while (writing) {
      const report = await engine.apply();
      expect(report.failure).toBeUndefined();
      for (const e of report.executed) {
        if (e.action.extension) {
          extensions.push({
            from: e.action.extension.fromBytes,
            to: e.action.extension.toBytes,
            trigger: e.action.extension.trigger,
          });
        }
      }
    }
    await writer;
    const final = await engine.apply();
    const lastFindings = final.findings.map((f) => f.code);

    const samples = engine.memory.samples.filter((s) => s.dataSizeBytes > 0);
    expect(samples.length).toBeGreaterThan(10);
    const worst = Math.max(...samples.map((s) => s.dataUsedBytes / s.dataSizeBytes));
    expect(worst).toBeLessThan(0.95);
    expect(extensions.filter((e) => e.trigger === 'threshold').length).toBeGreaterThanOrEqual(3);
    for (const e of extensions) expect(e.to).toBeGreaterThan(e.from);

    const pool = await lvs(vm, 'docker/thinpool');
    expect(Number(pool.lv_size)).toBe(1024 * MiB);
    expect(Number(pool.data_percent)).toBeGreaterThan(80);
    expect(lastFindings).toContain('MaxDataSizeReached');
    expect(pool.seg_monitor).toBe('not monitored');
  });
});

import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { metricValue } from './support/agent-process.js';
import { disableDmeventd, guestSh, lvs } from './support/guest.js';
import { useSystem, VM_NODE, waitFor } from './support/system.js';

/**
 * The runbook's ThinPoolAutoextendFailing story on a real node: another LV took the volume group's free
 * space, the pool passes its threshold, and the agent can only say so; when the admin frees space, the
 * agent extends the pool without being asked.
 */
describeVm('system: autoextend blocked by a full volume group', () => {
  const ctx = useSystem({ name: 'vg-full' });
  const POOL = 'docker';
  const labels = { thinpool: POOL, node: VM_NODE, vg: 'docker', lv: 'thinpool' };

  it('reports VolumeGroupFull (Event, metric) and changes nothing, then extends once space is freed', async () => {
    const { vm } = ctx;
    await ctx.system.applyThinPool(POOL, { devices: [{ path: vm.disk('disk2').byIdPath }], dataPercent: 25 });
    await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    await disableDmeventd(vm, 'docker/thinpool');
    // Another user of the VG takes every free extent.
    await vm.run(['lvcreate', '-q', '-y', '-l', '100%FREE', '-n', 'other', 'docker']);
    await vm.run(['lvcreate', '-q', '-V', '1G', '-T', 'docker/thinpool', '-n', 'fill']);
    const before = Number((await lvs(vm, 'docker/thinpool'))!.lv_size);
    const fillMiB = Math.ceil((before * 0.88) / 2 ** 20);
    await guestSh(vm, `dd if=/dev/zero of=/dev/docker/fill bs=1M count=${fillMiB} oflag=direct status=none`);

    const refused = await waitFor(
      async () => (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'VolumeGroupFull'),
      'the VolumeGroupFull Event',
    );
    expect(refused.type).toBe('Warning');
    expect(refused.message).toMatch(
      /^Volume group docker has no free space to extend data of docker\/thinpool/,
    );
    expect((await ctx.system.events('Node', VM_NODE)).some((e) => e.reason === 'VolumeGroupFull')).toBe(true);
    const metrics = (await ctx.system.kubelet.agent(POOL).get('/metrics')).body;
    expect(metricValue(metrics, 'thinpool_volume_group_free_bytes', labels)).toBe(0);
    expect(metricValue(metrics, 'thinpool_data_used_bytes', labels)).toBeGreaterThan(0.8 * before);
    expect(Number((await lvs(vm, 'docker/thinpool'))!.lv_size)).toBe(before);
    const tpn = await ctx.system.thinPoolNode(POOL);
    expect(tpn?.status?.phase).toBe('Ready');
    const agent = ctx.system.kubelet.agentHistory(POOL).at(-1)!;
    expect(agent.completedCommands().filter((c) => c.startsWith('lvextend'))).toEqual([]);

    // The runbook's mitigation: free space in the VG.
    await vm.run(['lvremove', '-q', '-y', 'docker/other']);
    const after = await waitFor(async () => {
      const lv = await lvs(vm, 'docker/thinpool');
      return lv && Number(lv.lv_size) > before ? Number(lv.lv_size) : undefined;
    }, 'the agent to extend the pool once the VG has room');
    expect(after).toBeGreaterThanOrEqual(before * 1.2 - 4 * 2 ** 20);
    const extended = await waitFor(
      async () => (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'ExtendedThinPool'),
      'the ExtendedThinPool Event',
    );
    expect(extended.message).toContain('Extended thin pool data docker/thinpool');
  });
});

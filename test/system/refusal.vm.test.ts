import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { metricValue } from './support/agent-process.js';
import { guestSh } from './support/guest.js';
import { useSystem, VM_NODE, waitFor } from './support/system.js';

describeVm('system: a device with a filesystem', () => {
  const ctx = useSystem({ name: 'refusal' });
  const POOL = 'refused';

  it('is refused: the ThinPool is Degraded with the reason, nothing ran on the host, the data is intact', async () => {
    const { vm } = ctx;
    const disk = vm.disk('disk3');
    const checksum = (
      await guestSh(
        vm,
        `mkfs.ext4 -q -F ${disk.devicePath} && mkdir -p /mnt/refused && mount ${disk.devicePath} /mnt/refused && ` +
          'head -c 1048576 /dev/urandom > /mnt/refused/precious && sync && sha256sum /mnt/refused/precious && umount /mnt/refused',
      )
    ).stdout;

    await ctx.system.applyThinPool(POOL, { volumeGroup: 'refusedvg', devices: [{ path: disk.byIdPath }] });
    const degraded = await ctx.system.waitForCondition(POOL, 'Degraded', 'True', 'NodesFailed');
    expect(degraded.status?.failingNodes).toEqual([
      { node: VM_NODE, reason: 'DeviceHasFilesystem', message: expect.stringContaining('ext4') },
    ]);
    expect(degraded.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toContain(
      `${VM_NODE}: DeviceHasFilesystem`,
    );
    expect(degraded.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');

    const tpn = await ctx.system.thinPoolNode(POOL);
    expect(tpn?.status?.phase).toBe('Failed');
    expect(tpn?.status?.devices).toEqual([
      { path: disk.byIdPath, sizeBytes: disk.sizeBytes, state: 'Refused' },
    ]);
    expect(tpn?.status?.excludedDevices?.[0]?.reason).toMatch(/has an ext4 signature \(filesystem\)/);
    const warning = await waitFor(
      async () => (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'DeviceHasFilesystem'),
      'the DeviceHasFilesystem Event',
    );
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/^Refused .*ext4/);
    expect((await ctx.system.events('Node', VM_NODE)).some((e) => e.reason === 'DeviceHasFilesystem')).toBe(
      true,
    );

    // A few more reconciles: the refusal holds, the Event is not repeated, nothing is touched.
    const agent = ctx.system.kubelet.agent(POOL);
    const lastReconcile = async () =>
      metricValue((await agent.get('/metrics')).body, 'thinpool_agent_last_reconcile_timestamp_seconds');
    for (let i = 0; i < 2; i++) {
      const before = await lastReconcile();
      await waitFor(async () => (await lastReconcile())! > before!, 'another reconcile of the agent');
    }
    expect(agent.completedCommands()).toEqual([]);
    const warnings = (await ctx.system.events('ThinPool', POOL)).filter(
      (e) => e.reason === 'DeviceHasFilesystem',
    );
    expect(warnings).toHaveLength(1);
    expect((await vm.run(['pvs', '--noheadings'])).stdout.trim()).toBe('');
    const after = await guestSh(
      vm,
      `mount -o ro ${disk.devicePath} /mnt/refused && sha256sum /mnt/refused/precious; umount /mnt/refused`,
    );
    expect(after.stdout).toBe(checksum);
  });
});
